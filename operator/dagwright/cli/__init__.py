"""Dagwright cli layer."""
