"""Dagwright's benchmarks: `make bench` (`python -m bench.run`); figures in bench/results/latest.json."""
