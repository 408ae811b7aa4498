"""Dagwright api layer."""
