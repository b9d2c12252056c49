"""GET /api/runs page latency with 100k runs in SQLite, against in-process baselines.

.venv/bin/python bench/runs_list.py [--runs 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import Session, select

from bench.ui_load import pct
from maestro.api.app import create_app
from maestro.config import Settings
from maestro.db import get_engine
from maestro.domain.identity import bootstrap, mint_token
from maestro.domain.models import User
from maestro.domain.runs import Pipeline, PipelineVersion, Run
from maestro.migrate import upgrade


def seed(engine, n: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    boot = bootstrap(engine, admin_username="admin", admin_password="bench-password-123")
    rng = random.Random(7)
    with Session(engine) as s:
        admin = s.exec(select(User)).one()
        _, secret = mint_token(s, owner=admin, actor="admin", name="bench", scopes=["admin:*"], expires_in_days=1)
        pipes = []
        for i in range(20):
            p = Pipeline(tenant_id=boot.tenant_id, name=f"pipe-{i}", created_by="admin")
            s.add(p)
            s.flush()
            v = PipelineVersion(pipeline_id=p.id, version=1, spec={}, source_text="", content_hash="x", created_by="admin")
            s.add(v)
            s.flush()
            pipes.append((p, v))
        s.commit()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = []
        counters = dict.fromkeys(range(20), 0)
        statuses = ["succeeded"] * 8 + ["failed", "cancelled"]
        for k in range(n):
            i = rng.randrange(20)
            counters[i] += 1
            p, v = pipes[i]
            created = start + timedelta(seconds=k * 30)
            rows.append(
                {
                    "id": uuid.uuid4().hex,
                    "tenant_id": boot.tenant_id,
                    "pipeline_id": p.id,
                    "pipeline_name": p.name,
                    "version_id": v.id,
                    "version": 1,
                    "number": counters[i],
                    "workflow_id": f"run-{p.name}-{counters[i]}",
                    "status": rng.choice(statuses),
                    "env": rng.choice(["dev", "staging", "prod"]),
                    "ref": "main",
                    "branch": "main",
                    "commit": uuid.uuid4().hex[:40],
                    "inputs": {},
                    "labels": {"team": rng.choice(["core", "web", "data"])},
                    "outputs": {},
                    "owner": rng.choice(["alice", "bob", "carol", "dave"]),
                    "trace_id": "",
                    "cost_usd": rng.random(),
                    "error": "",
                    "paused": False,
                    "created_at": created,
                    "started_at": created,
                    "finished_at": (created + timedelta(seconds=60)),
                    "duration_ms": 60000,
                }
            )
            if len(rows) == 5000:
                s.execute(insert(Run), rows)
                rows = []
        if rows:
            s.execute(insert(Run), rows)
        s.commit()
    return secret, boot.tenant_id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="maestro-bench-list-"))
    s = Settings(data_dir=tmp, redis_url="redis://127.0.0.1:1/0", temporal_address="127.0.0.1:1")
    upgrade(s.effective_database_url)
    t0 = time.perf_counter()
    secret, _ = seed(get_engine(s.effective_database_url), args.runs)
    print(f"seeded {args.runs} runs in {time.perf_counter() - t0:.1f}s (SQLite {s.effective_database_url})")
    app = create_app(s, start_background=False)
    h = {"Authorization": f"Bearer {secret}"}
    with TestClient(app) as c:
        first = c.get("/api/runs?limit=50", headers=h).json()
        cursor = first["nextCursor"]
        cases = {
            "baseline GET /api/health": ("/api/health", {}),
            "baseline GET /api/auth/me (auth only)": ("/api/auth/me", h),
            "GET /api/runs?limit=50": ("/api/runs?limit=50", h),
            "GET /api/runs page 2 (cursor)": (f"/api/runs?limit=50&cursor={cursor}", h),
            "GET /api/runs?status=failed": ("/api/runs?limit=50&status=failed", h),
            "GET /api/runs?pipeline=pipe-3&env=prod": ("/api/runs?limit=50&pipeline=pipe-3&env=prod", h),
            "GET /api/runs?owner=bob&label=team=web": ("/api/runs?limit=50&owner=bob&label=team%3Dweb", h),
            "GET /api/runs?q=pipe-1": ("/api/runs?limit=50&q=pipe-1", h),
        }
        results = {}
        for name, (url, headers) in cases.items():
            for _ in range(10):
                c.get(url, headers=headers)
            xs = []
            for _ in range(args.samples):
                t = time.perf_counter()
                r = c.get(url, headers=headers)
                xs.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
            results[name] = xs
            print(f"{name:<44} p50 {pct(xs, 0.5):6.2f} ms  p95 {pct(xs, 0.95):6.2f} ms")
        base = pct(results["baseline GET /api/auth/me (auth only)"], 0.95)
        worst = max(pct(v, 0.95) for k, v in results.items() if k.startswith("GET /api/runs"))
        print(
            f"worst runs-list p95 {worst:.2f} ms = {worst / base:.1f}x the authenticated baseline; goal <= 50 ms: {'OK' if worst <= 50 else 'OVER'}"
        )


if __name__ == "__main__":
    main()
