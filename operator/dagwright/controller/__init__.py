"""Dagwright controller layer."""
