"""Pipelines: spec, validation, DAG planning and expressions (pure), plus runs' data access."""
