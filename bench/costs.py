"""Cost explorer: 30 days × group by pipeline and env × daily buckets over 1M ledger rows, on SQLite and
PostgreSQL, against the plain GROUP BY over the ledger rows in the same run (goal: p95 ≤ 300 ms).

.venv/bin/python bench/costs.py [--rows 1000000] [--samples 30] [--backends sqlite,postgres]

PostgreSQL: MAESTRO_TEST_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test; the bench
creates a throwaway database beside it (maestro_bench_costs_<random>) and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

from bench.ui_load import pct
from maestro.api.app import create_app
from maestro.config import Settings
from maestro.db import get_engine
from maestro.domain.finops import SpendEntry
from maestro.domain.identity import bootstrap, mint_token
from maestro.domain.models import User
from maestro.finops import explorer
from maestro.migrate import upgrade

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
PIPELINES = [f"pipe-{i:02d}" for i in range(20)]
ENVS = ["dev", "staging", "prod"]
ROUTES = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet"), ("anthropic", "claude-haiku"),
          ("mistral", "mistral-large"), ("mistral", "mistral-small")]  # fmt: skip
GOAL_MS = 300.0


def seed(engine: Engine, n: int) -> tuple[str, str]:
    """1M ledger rows over 30 days (30% run steps, 70% gateway requests over 3 providers × 2 models), bulk
    inserted; then the hourly and daily rollups built by INSERT … SELECT … GROUP BY (what ``record`` maintains
    row by row)."""
    boot = bootstrap(engine, admin_username="admin", admin_password="bench-password-123")
    tenant = boot.tenant_id
    rng = random.Random(7)
    span = DAYS * 24 * 3600
    with Session(engine) as s:
        admin = s.exec(select(User)).one()
        _, secret = mint_token(s, owner=admin, actor="admin", name="bench", scopes=["admin:*"], expires_in_days=1)
        s.commit()
        batch: list[dict[str, Any]] = []
        for k in range(n):
            ts = START + timedelta(seconds=rng.random() * span)
            step = rng.random() < 0.3
            provider, model = ("", "") if step else rng.choice(ROUTES)
            tin, tout = (0, 0) if step else (rng.randrange(50, 4000), rng.randrange(10, 1000))
            batch.append(
                {
                    "tenant_id": tenant, "source": "run-step" if step else "gateway", "source_id": f"e{k}", "ts": ts,
                    "project": "default", "env": rng.choice(ENVS), "pipeline": rng.choice(PIPELINES),
                    "run_id": uuid.UUID(int=rng.getrandbits(128)).hex if step else "", "step": "build" if step else "",
                    "provider": provider, "model": model, "artifact": "", "labels": {}, "usd": round(rng.random() * 0.02, 6),
                    "tokens_in": tin, "tokens_out": tout, "runner_seconds": rng.random() * 60 if step else 0.0,
                    "description": "", "recorded_by": "bench", "created_at": ts,
                }
            )  # fmt: skip
            if len(batch) == 10_000:
                s.execute(insert(SpendEntry), batch)
                batch = []
        if batch:
            s.execute(insert(SpendEntry), batch)
        s.commit()
    with engine.begin() as c:
        hour = (
            "date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            if engine.dialect.name == "postgresql"
            else "strftime('%Y-%m-%d %H:00:00.000000', ts)"
        )
        c.execute(text("DELETE FROM spend_rollup"))
        c.execute(
            text(
                "INSERT INTO spend_rollup (tenant_id, hour, source, project, env, pipeline, provider, model, usd,"
                " tokens_in, tokens_out, runner_seconds, entries)"
                f" SELECT tenant_id, {hour}, source, project, env, pipeline, provider, model, sum(usd), sum(tokens_in),"
                " sum(tokens_out), sum(runner_seconds), count(*) FROM spend_entry"
                f" GROUP BY tenant_id, {hour}, source, project, env, pipeline, provider, model"
            )
        )
        day = (
            "date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            if engine.dialect.name == "postgresql"
            else "substr(hour, 1, 10) || ' 00:00:00.000000'"
        )
        c.execute(text("DELETE FROM spend_rollup_day"))
        c.execute(
            text(
                "INSERT INTO spend_rollup_day (tenant_id, day, source, project, env, pipeline, provider, model, usd,"
                " tokens_in, tokens_out, runner_seconds, entries)"
                f" SELECT tenant_id, {day}, source, project, env, pipeline, provider, model, sum(usd), sum(tokens_in),"
                " sum(tokens_out), sum(runner_seconds), sum(entries) FROM spend_rollup"
                f" GROUP BY tenant_id, {day}, source, project, env, pipeline, provider, model"
            )
        )
        c.execute(text("ANALYZE"))
    return tenant, secret


def baseline_sql(dialect: str) -> str:
    """The plain GROUP BY over the ledger rows: what the explorer would cost without rollups."""
    day = "date_trunc('day', ts AT TIME ZONE 'UTC')" if dialect == "postgresql" else "substr(ts, 1, 10)"
    return (
        f"SELECT {day} AS d, pipeline, env, sum(usd), sum(tokens_in) + sum(tokens_out) FROM spend_entry"
        f" WHERE tenant_id = :t AND ts >= :lo AND ts < :hi GROUP BY {day}, pipeline, env"
    )


def timed(fn: Callable[[], Any], samples: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    xs = []
    for _ in range(samples):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000)
    return xs


def http_timings(app: Any, secret: str, now: datetime, samples: int) -> tuple[list[float], list[float]]:
    """The same question through the HTTP app (auth, session, validation, JSON), and /api/auth/me alone."""
    h = {"Authorization": f"Bearer {secret}"}
    q = f"/api/costs?group_by=pipeline,env&step=1d&from={START:%Y-%m-%dT%H:%M:%SZ}&to={now:%Y-%m-%dT%H:%M:%SZ}&limit=1000"
    with TestClient(app) as web:

        def http() -> None:
            r = web.get(q, headers=h)
            assert r.status_code == 200, r.text

        return timed(http, samples), timed(lambda: web.get("/api/auth/me", headers=h), samples)


@contextmanager
def postgres_database() -> Iterator[str]:
    base = make_url(os.environ.get("MAESTRO_TEST_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    if base.drivername == "postgresql":  # the tests' plain libpq URL: Maestro talks psycopg 3
        base = base.set(drivername="postgresql+psycopg")
    name = f"maestro_bench_costs_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="maestro-bench-costs-") as tmp:  # ~450 MB: never left behind
        yield f"sqlite:///{Path(tmp) / 'maestro.db'}"


def run(backend: str, url: str, rows: int, samples: int) -> dict[str, float]:
    upgrade(url)
    engine = get_engine(url)
    t0 = time.perf_counter()
    tenant, secret = seed(engine, rows)
    with engine.connect() as c:
        n_rollups = c.execute(text("SELECT count(*) FROM spend_rollup")).scalar_one()
        ledger_usd = c.execute(text("SELECT sum(usd) FROM spend_entry")).scalar_one()
    print(f"[{backend}] seeded {rows} ledger rows → {n_rollups} hourly rollup rows in {time.perf_counter() - t0:.1f}s")
    now = START + timedelta(days=DAYS)
    w = explorer.window(start=START, end=now, step="1d", now=now)
    with Session(engine) as s:

        def query() -> explorer.Series:
            return explorer.series(session=s, tenant_id=tenant, window=w, group_by=("pipeline", "env"), filters={}, limit=1000)

        got = query()
        assert len(got.groups) == len(PIPELINES) * len(ENVS) and all(len(g.points) == DAYS for g in got.groups)
        assert abs(got.total_usd - float(ledger_usd)) < 1e-6 * max(1.0, float(ledger_usd)), (got.total_usd, ledger_usd)
        explorer_ms = timed(query, samples)
        sql = text(baseline_sql(engine.dialect.name))
        lo, hi = (
            (w.start, w.end)
            if engine.dialect.name == "postgresql"
            else (f"{w.start:%Y-%m-%d %H:%M:%S}", f"{w.end:%Y-%m-%d %H:%M:%S}")
        )
        base_rows = s.connection().execute(sql, {"t": tenant, "lo": lo, "hi": hi}).all()
        assert len(base_rows) == DAYS * len(PIPELINES) * len(ENVS), len(base_rows)
        baseline_ms = timed(lambda: s.connection().execute(sql, {"t": tenant, "lo": lo, "hi": hi}).all(), max(5, samples // 3), 1)
    with tempfile.TemporaryDirectory(prefix="maestro-bench-costs-app-") as data:
        settings = Settings(
            data_dir=Path(data), database_url=url, redis_url="redis://127.0.0.1:1/0", temporal_address="127.0.0.1:1"
        )
        http_ms, auth_ms = http_timings(create_app(settings, start_background=False), secret, now, samples)
    engine.dispose()
    for name, xs in (
        ("baseline: plain GROUP BY over the ledger", baseline_ms),
        ("explorer.series (rollups)", explorer_ms),
        ("GET /api/costs (HTTP, in-process)", http_ms),
        ("GET /api/auth/me (HTTP auth only)", auth_ms),
    ):
        print(f"[{backend}] {name:<42} p50 {pct(xs, 0.5):8.1f} ms  p95 {pct(xs, 0.95):8.1f} ms  (n={len(xs)})")
    p95 = max(pct(explorer_ms, 0.95), pct(http_ms, 0.95))
    print(
        f"[{backend}] baseline p50 / explorer p50 = {pct(baseline_ms, 0.5) / pct(explorer_ms, 0.5):.1f}x;"
        f" worst p95 {p95:.1f} ms, goal <= {GOAL_MS:.0f} ms: {'OK' if p95 <= GOAL_MS else 'OVER'}"
    )
    return {"p95": p95}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args()
    for backend in args.backends.split(","):
        with sqlite_database() if backend == "sqlite" else postgres_database() as url:
            run(backend, url, args.rows, args.samples)


if __name__ == "__main__":
    main()
