"""Policy gates: Rego (rego.v1) policies evaluated in a sandboxed process, with a decision log."""
