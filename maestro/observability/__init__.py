"""SLOs, burn rates, request-outcome accounting (and, as they grow, alerts and insights)."""
