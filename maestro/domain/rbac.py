"""Roles, permissions and scope matching (pure logic, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

# Every permission a route may declare. A route declaring one not listed here fails at import.
PERMISSIONS: dict[str, str] = {
    "runs:read": "See pipelines, runs, steps and logs",
    "runs:write": "Start, cancel, pause, resume, approve and rerun runs",
    "pipelines:write": "Create and change pipelines",
    "rollouts:read": "See rollouts",
    "rollouts:promote": "Promote, pause, roll back and abort rollouts",
    "policies:read": "See policies and decisions",
    "policies:write": "Author and activate policies",
    "routing:read": "See model routing: classes, candidates and scores, pins, kill switches, requests",
    "routing:write": "Change model routing installation-wide: providers, keys, classes, pins, kill switches, aliases, limits",
    "routing:keys": "Create and revoke gateway keys of your tenant",
    "routing:read-captures": "Read captured gateway requests (prompts and answers, redacted); every read is audited",
    "budgets:read": "See budgets and costs",
    "budgets:write": "Change budgets, freeze and unfreeze",
    "alerts:write": "Acknowledge and assign alerts",
    "audit:read": "Read and export the audit log",
    "tokens:self": "Create and revoke your own API tokens",
    "system:read": "See system health and diagnostics",
    "system:diagnose": "Run diagnostic workflows",
    "admin:users": "Manage users and role bindings",
    "admin:tokens": "See and revoke every user's API tokens",
    "admin:*": "Everything",
}

_VIEWER = ["runs:read", "rollouts:read", "policies:read", "budgets:read", "routing:read", "tokens:self", "system:read"]
ROLES: dict[str, list[str]] = {
    "viewer": _VIEWER,
    # routing configuration (providers and where their keys go, classes, kill switches) is installation-wide:
    # routing:write is for administrators only; operators and release managers mint their tenant's keys
    "operator": [*_VIEWER, "runs:write", "pipelines:write", "alerts:write", "system:diagnose", "routing:keys"],
    "release-manager": [*_VIEWER, "runs:write", "pipelines:write", "alerts:write", "rollouts:promote", "routing:keys"],
    "security": [*_VIEWER, "policies:write", "audit:read"],
    "finops": [*_VIEWER, "budgets:write"],
    "admin": ["admin:*"],
}


def grants(held: set[str] | frozenset[str], wanted: str) -> bool:
    """True when the held permissions include ``wanted`` (``admin:*`` includes everything)."""
    return "admin:*" in held or wanted in held


def role_permissions(roles: list[str]) -> set[str]:
    out: set[str] = set()
    for r in roles:
        out.update(ROLES.get(r, []))
    return out


@dataclass(frozen=True)
class ScopePath:
    """Where a request acts: always a tenant, optionally a project and environment."""

    tenant_id: str
    project_id: str | None = None
    environment_id: str | None = None

    def covered_by(self, scope_type: str, scope_id: str) -> bool:
        if scope_type == "tenant":
            return scope_id == self.tenant_id
        if scope_type == "project":
            return scope_id == self.project_id
        if scope_type == "environment":
            return scope_id == self.environment_id
        return False
