"""`dagwright ui`: a read-only web view of workflows, runs and their DAGs, live (docs/ui.md)."""
