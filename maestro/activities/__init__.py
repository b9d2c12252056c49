"""Activities grouped by concern."""
