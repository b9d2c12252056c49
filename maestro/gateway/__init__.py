"""The model gateway (Routing Studio's data plane) and its provider simulator."""
