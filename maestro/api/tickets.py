"""Minting control tickets for the API's own controls and for users who drive workflows through Temporal."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime

from sqlmodel import Session

from maestro.api.deps import Runtime
from maestro.api.problems import Problem
from maestro.api.schemas import TicketPublic
from maestro.domain import tickets
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal


def for_api(rt: Runtime, principal: Principal, workflow_id: str, action: str) -> tuple[str, str]:
    """A ticket for a control the API sends itself (and audits itself): used at once, expires in a minute.
    Returns the ticket and its id (to withdraw it when the control cannot be delivered)."""
    token, claims = tickets.issue(
        rt.settings, rt.engine, workflow_id=workflow_id, action=action, actor=principal.actor, via="api", ttl_seconds=60
    )
    return token, claims.jti


def for_user(
    rt: Runtime,
    session: Session,
    principal: Principal,
    *,
    target_type: str,
    target_id: str,
    workflow_id: str,
    action: str,
    ttl_seconds: int,
    finished: str | None = None,
) -> TicketPublic:
    """A ticket a user passes to `temporal workflow update`; minting it is audited. `finished`: the target's
    status when it has finished (no control applies any more: 409)."""
    if finished:
        raise Problem(
            409,
            f"The {target_type} is {finished}; {action} applies to running {target_type}s only.",
            errors=[{"field": "action", "message": f"the {target_type} has finished"}],
        )
    token, claims = tickets.issue(
        rt.settings,
        rt.engine,
        workflow_id=workflow_id,
        action=action,
        actor=principal.actor,
        via="temporal",
        ttl_seconds=ttl_seconds,
    )
    expires = datetime.fromtimestamp(claims.exp, UTC)
    append_audit(
        session,
        actor=principal.actor,
        action=f"{target_type}.ticket",
        target_type=target_type,
        target_id=target_id,
        change={"action": action, "expiresAt": expires.isoformat(), "jti": claims.jti},
    )
    session.commit()
    body = json.dumps({"ticket": token, "reason": ""})
    command = shlex.join(
        ["temporal", "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", action, "--input", body]
    )
    return TicketPublic(
        ticket=token, workflow_id=workflow_id, action=action, actor=principal.actor, expires_at=expires, command=command
    )
