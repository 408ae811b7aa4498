"""Dagwright: a Kubernetes operator that runs data-pipeline DAGs as one Job per task."""

__version__ = "0.1.0"
