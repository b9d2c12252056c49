"""Appending to the audit chain inside the caller's transaction, and reading it back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, select

from maestro.context import current_request_id, current_trace_id
from maestro.domain.audit import GENESIS, ChainReport, digest, link_hash, verify_chain
from maestro.domain.models import AuditEvent, AuditHead
from maestro.domain.types import new_id, utcnow

log = logging.getLogger("maestro.audit")

AUDIT_PUBLISHER = "audit_publisher"


def publish_audit_with(session: Session, fn: Callable[[AuditEvent], None]) -> None:
    """After this session commits, ``fn`` gets each audit event it wrote (the API streams them)."""
    session.info[AUDIT_PUBLISHER] = fn


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending: list[AuditEvent] = session.info.pop("audit_pending", [])
    fn: Callable[[AuditEvent], None] | None = session.info.get(AUDIT_PUBLISHER) if pending else None
    for ev in pending if fn else []:
        try:
            fn(ev)  # type: ignore[misc]
        except Exception:  # a broken listener must never undo a committed change
            log.exception("audit listener failed")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("audit_pending", None)


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    change: dict[str, Any],
) -> AuditEvent:
    """Add the audit row for a change already added to ``session``; the caller commits both together."""
    session.flush()  # the change first: on SQLite this takes the write lock before the head is read
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    prev_hash, prev_seq = (head.hash, head.seq) if head else (GENESIS, 0)
    ev = AuditEvent(
        seq=prev_seq + 1,
        id=new_id(),
        ts=utcnow(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        request_id=current_request_id(),
        trace_id=current_trace_id(),
        change_digest=digest(change),
        prev_hash=prev_hash,
        hash="",
    )
    ev.hash = link_hash(
        seq=ev.seq or 0,
        id=ev.id,
        ts=ev.ts,
        actor=ev.actor,
        action=ev.action,
        target_type=ev.target_type,
        target_id=ev.target_id,
        request_id=ev.request_id,
        trace_id=ev.trace_id,
        change_digest=ev.change_digest,
        prev_hash=ev.prev_hash,
    )
    session.add(ev)
    if head is None:
        session.add(AuditHead(id=1, seq=ev.seq or 0, hash=ev.hash))
    else:
        head.seq, head.hash = ev.seq or 0, ev.hash
        session.add(head)
    session.info.setdefault("audit_pending", []).append(ev)
    return ev


def verify(session: Session, batch: int = 5000) -> ChainReport:
    head_row = session.get(AuditHead, 1)
    head = (head_row.seq, head_row.hash) if head_row else None

    def rows() -> Any:
        last = 0
        while True:
            chunk = session.exec(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)  # type: ignore[operator,arg-type]
            ).all()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1].seq or 0

    return verify_chain(rows(), head)
