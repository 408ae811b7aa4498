"""Dagwright schedule layer."""
