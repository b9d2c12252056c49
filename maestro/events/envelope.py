from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from maestro.domain.types import new_id


class Envelope(BaseModel):
    """What every stream carries: ``{ts, type, id, entity, payload, traceId, tenant, env}``.

    ``tenant`` and ``env`` say whose the event is: the stream route delivers an event only to a
    caller who may read it through the REST list of the same topic.
    """

    ts: datetime
    type: str
    id: str
    entity: str
    payload: dict[str, Any] = Field(default_factory=dict)
    trace_id: str = Field("", serialization_alias="traceId", validation_alias="traceId")
    tenant: str = Field("", description="Tenant id of the entity; empty for installation-wide events (health, audit).")
    env: str = Field("", description="Environment name of the entity when it lives in one (runs, rollouts, services).")

    model_config = {"populate_by_name": True}


def make_envelope(
    *,
    type: str,
    entity: str,
    payload: dict[str, Any],
    tenant: str,
    env: str = "",
    id: str | None = None,
    trace_id: str = "",
) -> Envelope:
    return Envelope(
        ts=datetime.now(UTC),
        type=type,
        id=id or new_id(),
        entity=entity,
        payload=payload,
        trace_id=trace_id,
        tenant=tenant,
        env=env,
    )
