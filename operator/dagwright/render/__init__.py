"""Dagwright render layer."""
