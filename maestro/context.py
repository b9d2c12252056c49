"""Per-request context (request id, trace id, CSP nonce) shared by middleware, handlers and audit."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
trace_id_var: ContextVar[str] = ContextVar("trace_id", default="")


def current_trace_id() -> str:
    return trace_id_var.get()


def current_request_id() -> str:
    return request_id_var.get()
