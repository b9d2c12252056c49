"""Building stream events: one call that picks the typed envelope of an event type."""

from __future__ import annotations

from datetime import UTC, datetime

from maestro.domain.types import new_id
from maestro.events.payloads import Envelope, StreamEvent
from maestro.wire import ApiModel


def make_envelope(
    *,
    type: str,
    entity: str,
    payload: ApiModel,
    tenant: str,
    env: str = "",
    id: str | None = None,
    trace_id: str = "",
) -> Envelope:
    """The envelope of a ``type`` event; a payload that is not that type's model is refused
    (pydantic ValidationError), so what a stream carries is what the OpenAPI document says."""
    return StreamEvent.model_validate(
        {
            "ts": datetime.now(UTC),
            "type": type,
            "id": id or new_id(),
            "entity": entity,
            "payload": payload,
            "trace_id": trace_id,
            "tenant": tenant,
            "env": env,
        }
    ).root
