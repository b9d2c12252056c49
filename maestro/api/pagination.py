"""Cursor pagination: opaque, keyset-based (stable under inserts), reused by every list route."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from maestro.api.problems import Problem
from maestro.wire import ApiModel

T = TypeVar("T")
M = TypeVar("M")


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last page.")


class Items(ApiModel, Generic[T]):
    """A complete (unpaged) list."""

    items: list[T]


class PageParams(BaseModel):
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (1-500).")] = 50,
    cursor: Annotated[str | None, Query(max_length=1000, description="`nextCursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def _enc(v: Any) -> Any:
    return {"$dt": v.isoformat()} if isinstance(v, datetime) else v


def _dec(v: Any) -> Any:
    return datetime.fromisoformat(v["$dt"]) if isinstance(v, dict) and "$dt" in v else v


def encode_cursor(values: Sequence[Any], *, kind: str) -> str:
    raw = json.dumps({"k": kind, "v": [_enc(v) for v in values]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, kind: str, arity: int) -> list[Any]:
    bad = Problem(
        400,
        "The cursor is not valid for this list.",
        title="Invalid cursor",
        errors=[{"field": "query.cursor", "message": "unknown or corrupted cursor"}],
        remediation="Use the nextCursor value returned by the previous page of this same list, or omit cursor.",
    )
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = [_dec(v) for v in data["v"]]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad from exc
    if data.get("k") != kind or not isinstance(values, list) or len(values) != arity:
        raise bad
    return values


def paginate(
    session: Session,
    stmt: SelectOfScalar[M],
    *,
    order: Sequence[Any],  # model columns, e.g. [Run.created_at, Run.id]
    params: PageParams,
    kind: str,
    descending: bool = True,
    to_public: Callable[[M], T],
) -> Page[T]:
    """Keyset page over ``order`` (the last column must be unique)."""
    if params.cursor:
        vals = decode_cursor(params.cursor, kind=kind, arity=len(order))
        # (a, b) < (va, vb)  ==  a < va OR (a = va AND b < vb), portable across SQLite/PostgreSQL
        conds = []
        for i, col in enumerate(order):
            eqs = [order[j] == vals[j] for j in range(i)]
            cmp = col < vals[i] if descending else col > vals[i]
            conds.append(and_(*eqs, cmp))
        stmt = stmt.where(or_(*conds))
    stmt = stmt.order_by(*[c.desc() if descending else c.asc() for c in order]).limit(params.limit + 1)
    rows = list(session.exec(stmt).all())
    nxt = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        nxt = encode_cursor([getattr(last, c.key) for c in order], kind=kind)
    return Page[T](items=[to_public(r) for r in rows], next_cursor=nxt)


__all__ = ["ApiModel", "Items", "Page", "PageParams", "decode_cursor", "encode_cursor", "page_params", "paginate", "select"]
