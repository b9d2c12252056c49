"""Canary rollouts: RolloutWorkflow, its activities, step and analysis definitions."""
