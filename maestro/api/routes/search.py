from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from maestro.api import search as finder
from maestro.api.deps import AUTHENTICATED, Require, SessionDep
from maestro.api.pagination import Items
from maestro.api.schemas import SearchHit
from maestro.domain.identity import Principal

router = APIRouter(tags=["search"])


@router.get("/search", operation_id="search", response_model=Items[SearchHit])
def search(
    *,
    session: SessionDep,
    principal: Annotated[Principal, Require(AUTHENTICATED)],
    q: Annotated[str, Query(min_length=1, max_length=100, description="Name, id or prefix to look for.")],
    limit: Annotated[int, Query(ge=1, le=50, description="Hits of each kind; twice as many in all.")] = 20,
) -> Items[SearchHit]:
    """Find what you may see (each kind as its REST list shows it to you) by name or id: runs (by id, its
    first 8+ characters, workflow id or trace id), pipelines, rollouts (by id; active ones by service name),
    services, alerts (by name or summary), artifacts (by path or sha256 prefix), policies, environments,
    users, tokens, and audit events last. Best matches first: the id or name exactly, then names starting
    with it."""
    return Items[SearchHit](items=finder.search(session=session, principal=principal, q=q, limit=limit))
