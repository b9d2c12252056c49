"""SQLModel tables and pure domain logic."""
