"""One router module per IA section."""
