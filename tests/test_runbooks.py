"""Every alert's runbook exists, says which alert it serves, and the API serves it to the UI."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from maestro.observability.alerts import RUNBOOKS
from tests.factories import login

ROOT = Path(__file__).resolve().parents[1]


def test_every_alert_has_a_runbook() -> None:
    for alert, name in RUNBOOKS.items():
        text = (ROOT / "docs" / "runbooks" / f"{name}.md").read_text()
        assert alert in text, f"docs/runbooks/{name}.md does not describe {alert}"


def test_the_api_serves_runbooks(client: TestClient) -> None:
    assert client.get("/api/runbooks/slo-burn").status_code == 401
    login(client)
    listed = {r["name"]: r["title"] for r in client.get("/api/runbooks").json()["items"]}
    assert set(RUNBOOKS.values()) <= set(listed)
    assert listed["slo-burn"].startswith("SLO burn rate")
    # titles are plain text (the docs' headings carry Markdown backticks and a lowercase start)
    assert listed["policy-denial-spike"] == "Policy denial spike (PolicyDenialSpike)"
    assert all("`" not in t and (t[0].isupper() or t[0] == "/") for t in listed.values()), listed
    one = client.get("/api/runbooks/queue-saturation").json()
    assert one["markdown"] == (ROOT / "docs/runbooks/queue-saturation.md").read_text()
    for bad in ("nope", "..%2Fslo-burn", "SLO-BURN"):
        r = client.get(f"/api/runbooks/{bad}")
        assert r.status_code == 404, bad
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_runbook_link_opens_where_the_ui_is_not_built(tmp_path: Path) -> None:
    """Alerts link runbooks at <public url>/runbooks/<name>, a UI page: an on-call engineer following
    one from a page must read it even on an API-only install (no frontend/dist)."""
    from fastapi import FastAPI

    from maestro.api.ui import mount_ui
    from maestro.config import Settings

    app = FastAPI()
    mount_ui(app, Settings(data_dir=tmp_path), dist=tmp_path / "no-dist")
    with TestClient(app) as c:
        page = c.get("/runbooks/queue-saturation")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "not built" in page.text and "RunQueueSaturated" in page.text
        assert "<script" not in page.text.lower()
        assert c.get("/runbooks/no-such-runbook").status_code == 503  # other UI pages still explain the missing build
