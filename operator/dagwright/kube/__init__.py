"""Dagwright kube layer."""
