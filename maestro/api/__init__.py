"""FastAPI application: REST, SSE, OpenAPI and the built UI."""
