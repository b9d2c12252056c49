"""FinOps: the spend ledger, budgets and their workflows, the cost explorer."""
