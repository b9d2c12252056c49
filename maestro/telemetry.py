"""Tracing (OpenTelemetry, OTLP when configured) and JSON logs carrying trace ids."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from maestro.config import Settings

_configured = False
_sink: dict[str, Any] = {"engine": None, "retention_hours": 72}

_STD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["traceId"] = format(ctx.trace_id, "032x")
            out["spanId"] = format(ctx.span_id, "016x")
        for k, v in record.__dict__.items():
            if k not in _STD and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "temporalio.activity", "temporalio.workflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class SqlSpanExporter(SpanExporter):
    """Keeps finished spans in the database (bounded retention) so run waterfalls need no backend."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        engine = _sink["engine"]
        if engine is None or not spans:
            return SpanExportResult.SUCCESS
        from sqlalchemy import delete, insert
        from sqlmodel import Session

        from maestro.domain.runs import TraceSpan

        rows = []
        for sp in spans:
            ctx = sp.get_span_context()
            if ctx is None or sp.start_time is None or sp.end_time is None:
                continue
            attrs = {k: (v if isinstance(v, str | int | float | bool) else str(v)) for k, v in (sp.attributes or {}).items()}
            rows.append(
                {
                    "trace_id": format(ctx.trace_id, "032x"),
                    "span_id": format(ctx.span_id, "016x"),
                    "parent_id": format(sp.parent.span_id, "016x") if sp.parent else None,
                    "name": sp.name[:300],
                    "service": (sp.resource.attributes.get("service.name") if sp.resource else None) or self.service,
                    "kind": sp.kind.name.lower(),
                    "start_time": datetime.fromtimestamp(sp.start_time / 1e9, UTC),
                    "end_time": datetime.fromtimestamp(sp.end_time / 1e9, UTC),
                    "status": {StatusCode.OK: "ok", StatusCode.ERROR: "error"}.get(sp.status.status_code, "unset"),
                    "attributes": attrs,
                }
            )
        try:
            with Session(engine) as s:
                if rows:
                    s.execute(insert(TraceSpan), rows)
                self.exported += len(rows)
                if self.exported >= 2000:  # retention, checked now and then
                    self.exported = 0
                    cutoff = datetime.now(UTC) - timedelta(hours=_sink["retention_hours"])
                    s.execute(delete(TraceSpan).where(TraceSpan.end_time < cutoff))  # type: ignore[arg-type]
                s.commit()
        except Exception:  # tracing must never break the traced work
            logging.getLogger("maestro.telemetry").debug("span export failed", exc_info=True)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def setup_tracing(settings: Settings, *, service: str) -> None:
    """Install the global tracer provider once per process; spans are kept in the configured DB."""
    global _configured
    if settings.trace_retention_hours > 0:
        from maestro.db import get_engine

        _sink["engine"] = get_engine(settings.effective_database_url)
        _sink["retention_hours"] = settings.trace_retention_hours
    if _configured:
        return
    _configured = True
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(SqlSpanExporter(service), schedule_delay_millis=500))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
