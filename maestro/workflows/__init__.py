"""Temporal workflows only: deterministic, dataclass inputs."""
