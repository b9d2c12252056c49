"""Payloads of stream events that have a REST twin: one model, published by both."""

from __future__ import annotations

from datetime import datetime

from maestro.wire import ApiModel


class AuditEventPublic(ApiModel):
    seq: int
    id: str
    ts: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    request_id: str
    trace_id: str
    change_digest: str
    prev_hash: str
    hash: str
