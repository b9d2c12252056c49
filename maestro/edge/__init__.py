"""The edge router: a reverse proxy that splits each service's traffic between stable and canary."""
