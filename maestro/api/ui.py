"""Serving the built web UI (frontend/dist) with the per-response CSP nonce."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.convertors import Convertor, register_url_convertor
from starlette.staticfiles import StaticFiles

from maestro.api.deps import Public
from maestro.config import Settings
from maestro.observability import runbooks

UI_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
NONCE_MARK = "__CSP_NONCE__"


class _UiPath(Convertor[str]):
    """Any path except /api/...: unknown API URLs must stay problem+json 404/405, never the SPA."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("uipath", _UiPath())


def mount_ui(app: FastAPI, settings: Settings, dist: Path = UI_DIST) -> None:
    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="ui-assets")

    @app.get("/{path:uipath}", include_in_schema=False, dependencies=[Public])
    def spa(path: str, request: Request) -> HTMLResponse:
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and dist.resolve() in candidate.parents and candidate.suffix != ".html":
            return FileResponse(candidate)  # type: ignore[return-value]
        if not index.is_file():
            if path.startswith("runbooks/") and (rb := runbooks.get(path.removeprefix("runbooks/"))) is not None:
                # an alert's runbook link must open during an incident even where the UI is not built
                return HTMLResponse(
                    f"<!doctype html><html lang='en'><head><title>{html.escape(rb.title)}</title></head><body><main>"
                    f"<p>The web UI is not built: this is the runbook's source.</p><pre>{html.escape(rb.markdown)}</pre>"
                    "</main></body></html>"
                )
            return HTMLResponse(
                "<!doctype html><html lang='en'><head><title>Maestro</title></head><body><main>"
                "<h1>Maestro API is running</h1><p>The web UI is not built. Run <code>make ui</code> "
                "(or <code>maestro up</code>, which builds it), then reload. The API docs are at "
                "<a href='/api/docs'>/api/docs</a>.</p></main></body></html>",
                status_code=503,
            )
        page = index.read_text().replace(NONCE_MARK, request.state.csp_nonce)
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
