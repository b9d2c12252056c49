"""Hash-chained audit log: canonical hashing and chain verification (pure logic)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def link_hash(
    *,
    seq: int,
    id: str,
    ts: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    request_id: str,
    trace_id: str,
    change_digest: str,
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "id": id,
        "ts": ts.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "request_id": request_id,
        "trace_id": trace_id,
        "change_digest": change_digest,
        "prev_hash": prev_hash,
    }
    return digest(body)


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(rows: Iterable[Any], head: tuple[int, str] | None) -> ChainReport:
    """Walk rows in ``seq`` order; report the first row whose link does not hold."""
    prev = GENESIS
    last_seq = 0
    n = 0
    for row in rows:
        n += 1
        if row.prev_hash != prev:
            why = "a row before it was deleted or reordered" if n > 1 else "the first row is not the genesis link"
            return ChainReport(False, n, row.seq, f"seq {row.seq}: prev_hash does not match ({why})")
        expected = link_hash(
            seq=row.seq,
            id=row.id,
            ts=row.ts,
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            request_id=row.request_id,
            trace_id=row.trace_id,
            change_digest=row.change_digest,
            prev_hash=row.prev_hash,
        )
        if expected != row.hash:
            return ChainReport(False, n, row.seq, f"seq {row.seq}: contents were edited (hash mismatch)")
        prev = row.hash
        last_seq = row.seq
    if head is not None and (head[0] != last_seq or head[1] != prev):
        return ChainReport(
            False, n, head[0], f"the chain ends at seq {last_seq} but the head says seq {head[0]}: rows were deleted"
        )
    if head is None and n:
        return ChainReport(False, n, last_seq, "the chain head record is missing")
    return ChainReport(True, n)
