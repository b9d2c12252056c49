from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from maestro import __version__
from maestro.api.deps import Public, RuntimeDep
from maestro.api.health import readiness
from maestro.api.schemas import HealthPublic
from maestro.events.payloads import ReadyPublic

router = APIRouter(tags=["health"], dependencies=[Public])


@router.get("/health", operation_id="health-get", response_model=HealthPublic)
async def health() -> HealthPublic:
    """The API process is alive (no dependency is checked)."""
    return HealthPublic(status="ok", version=__version__)


@router.get(
    "/ready",
    operation_id="ready-get",
    response_model=ReadyPublic,
    responses={503: {"model": ReadyPublic, "description": "At least one dependency is down"}},
)
async def ready(*, rt: RuntimeDep) -> JSONResponse:
    """Temporal, Redis and the database, each with its status and latency; 503 when any is down."""
    result = await readiness(rt)
    return JSONResponse(result.model_dump(mode="json", by_alias=True), status_code=200 if result.status == "ok" else 503)
