"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from maestro.context import current_trace_id

log = logging.getLogger("maestro.api")

PROBLEM_JSON = "application/problem+json"

_DEFAULT_REMEDIATION = {
    400: "Fix the request as the detail says and send it again.",
    401: "Log in again or send a valid API token in the Authorization header (Bearer).",
    403: "Ask an admin for a role binding that grants the permission named in the detail.",
    404: "Check the URL and the id; list the collection to find existing ids.",
    405: "Use one of the methods named in the Allow header.",
    409: "Reload the resource and retry with its current state.",
    413: "Send a smaller body or raise MAESTRO_MAX_BODY_BYTES.",
    415: "Send the body as application/json.",
    422: "Correct the fields listed in `errors` and send the request again.",
    429: "Wait for the time given in Retry-After, then retry.",
    500: "Retry later; if it persists, give the traceId to your Maestro admin.",
    503: "A dependency is down: check GET /api/ready and retry when it is green.",
}

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """application/problem+json (RFC 9457) as every Maestro error is shaped."""

    model_config = ConfigDict(title="Problem", populate_by_name=True)
    type: str
    title: str
    status: int
    detail: str
    trace_id: str = Field(alias="traceId")
    remediation: str
    errors: list[FieldError] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ProblemDetails, "content": {PROBLEM_JSON: {}}, "description": "Client error (problem+json)"},
    "5XX": {"model": ProblemDetails, "content": {PROBLEM_JSON: {}}, "description": "Server error (problem+json)"},
}


class Problem(Exception):
    """Raise from anywhere in a request to answer with a problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        remediation: str | None = None,
        type: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.remediation = remediation or _DEFAULT_REMEDIATION.get(status, "")
        self.type = type or f"https://maestro.dev/problems/{self.title.lower().replace(' ', '-')}"
        self.errors = errors
        self.headers = headers


def problem_body(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    remediation: str | None = None,
    type: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    p = Problem(status, detail, title=title, remediation=remediation, type=type, errors=errors)
    body: dict[str, Any] = {
        "type": p.type,
        "title": p.title,
        "status": status,
        "detail": detail,
        "traceId": current_trace_id(),
        "remediation": p.remediation,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(status: int, detail: str, *, headers: dict[str, str] | None = None, **kw: Any) -> JSONResponse:
    return JSONResponse(problem_body(status, detail, **kw), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if rest and where == "body" else f"{where}.{'.'.join(rest)}" if rest else where
    return ".".join(parts)


def _validation_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field: remove it (see the schema in /api/docs)"
    if kind == "json_invalid":
        return f"malformed JSON: {err.get('ctx', {}).get('error', 'cannot parse')}"
    if kind == "missing":
        return "field required"
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")  # our validators' own words, as written


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_req: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.detail,
            title=exc.title,
            remediation=exc.remediation,
            type=exc.type,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(e.get("loc", ())), "message": _validation_message(e)} for e in exc.errors()]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem_response(
                400,
                "The request body is not valid JSON: " + errors[0]["message"],
                title="Malformed JSON",
                errors=errors,
                remediation="Send a well-formed JSON document with Content-Type: application/json.",
            )
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(422, f"Invalid request: {summary}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "Error"
        remediation = None
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No route matches this URL."
            path = _req.url.path
            if len(path) > 1 and path.endswith("/"):
                remediation = f"Drop the trailing slash: {path.rstrip('/')}"
        if exc.status_code == 405:
            detail = "This route does not accept that method."
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None), remediation=remediation)

    @app.exception_handler(Exception)
    async def _unhandled(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(500, "The server failed to handle this request. No stack trace is shown for safety.")
