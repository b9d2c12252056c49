"""Policy gates inside API requests: evaluate, log the decision, refuse with the policies' messages."""

from __future__ import annotations

from typing import Any

from maestro.api.deps import Runtime
from maestro.api.problems import Problem
from maestro.domain.identity import Principal
from maestro.policy import service as polsvc


def enforce(
    rt: Runtime, principal: Principal, *, point: str, input_doc: dict[str, Any], subject: str, field: str, status: int
) -> str:
    """Returns the decision id; raises a problem naming every denial when a policy refuses."""
    res = polsvc.gate(
        rt.engine,
        tenant_id=principal.tenant_id,
        point=point,
        input_doc=input_doc,
        subject=subject,
        actor=principal.actor,
        timeout_s=rt.settings.policy_timeout_ms / 1000,
        redis=rt.redis_sync,
        stream_maxlen=rt.settings.stream_maxlen,
    )
    if not res.allowed:
        raise Problem(
            status,
            f"Denied by policy: {res.reasons[0]}" + (f" (and {len(res.reasons) - 1} more)" if len(res.reasons) > 1 else ""),
            title="Denied by policy",
            type="policy-denied",
            errors=[{"field": field, "message": r} for r in res.reasons],
            remediation=f"Fix what the policies name, or ask a policy owner. Decision log: "
            f"GET /api/policies/decisions?batch={res.batch_id}",
        )
    return res.batch_id
