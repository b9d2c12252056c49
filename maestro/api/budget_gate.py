"""The answer a frozen budget gives every spending route (runs, reruns, promotions)."""

from __future__ import annotations

from typing import Any

from maestro.api.problems import Problem
from maestro.domain.identity import Principal
from maestro.finops.service import PROBLEM_TYPE, BudgetFrozen, record_refusal


def frozen_problem(rt: Any, principal: Principal, exc: BudgetFrozen, *, path: str) -> Problem:
    """The 409 a frozen budget answers with (recorded first in the audit log and the budget's history)."""
    record_refusal(rt.engine, rt.redis_sync, exc, actor=principal.actor, path=path, maxlen=rt.settings.stream_maxlen)
    b = exc.budgets[0]
    return Problem(
        409,
        str(exc),
        title="Budget frozen",
        type=PROBLEM_TYPE,
        remediation=f"Ask a FinOps owner to unfreeze budget {b.name!r} with a reason (POST /api/budgets/{b.id}/unfreeze) "
        f"or to raise its cap (POST /api/budgets/{b.id}/raise-cap).",
    )
