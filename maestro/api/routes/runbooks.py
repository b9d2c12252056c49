from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from maestro.api.deps import AUTHENTICATED, Require
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.domain.identity import Principal
from maestro.observability import runbooks

router = APIRouter(prefix="/runbooks", tags=["observability"])

Reader = Annotated[Principal, Require(AUTHENTICATED)]


class RunbookSummary(ApiModel):
    name: str
    title: str


class RunbookPublic(RunbookSummary):
    markdown: str


@router.get("", operation_id="runbooks-list", response_model=Items[RunbookSummary])
def list_runbooks(*, principal: Reader) -> Items[RunbookSummary]:
    """Every runbook (the alerts' `runbook_url` annotations point at these)."""
    return Items(items=[RunbookSummary(name=r.name, title=r.title) for r in runbooks.all_runbooks()])


@router.get("/{name}", operation_id="runbooks-get", response_model=RunbookPublic)
def get_runbook(*, name: str, principal: Reader) -> RunbookPublic:
    """One runbook as Markdown."""
    rb = runbooks.get(name)
    if rb is None:
        raise Problem(404, f"No runbook {name!r}.", remediation="List runbooks with GET /api/runbooks.")
    return RunbookPublic(name=rb.name, title=rb.title, markdown=rb.markdown)
