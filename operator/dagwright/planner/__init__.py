"""Dagwright planner layer."""
