"""Counts API request outcomes per minute in memory and adds them to `api_traffic` every few seconds."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Engine, text

log = logging.getLogger("maestro.traffic")


class TrafficRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])

    def record(self, status: int) -> None:
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        with self._lock:
            c = self._counts[minute]
            c[0] += 1
            if status >= 500:
                c[1] += 1

    def flush(self, engine: Engine) -> None:
        with self._lock:
            counts, self._counts = self._counts, defaultdict(lambda: [0, 0])
        if not counts:
            return
        # every replica adds into the same minute row
        stmt = text(
            "INSERT INTO api_traffic (minute, requests, errors) VALUES (:minute, :requests, :errors) "
            "ON CONFLICT (minute) DO UPDATE SET requests = api_traffic.requests + excluded.requests, "
            "errors = api_traffic.errors + excluded.errors"
        )
        sqlite = engine.dialect.name == "sqlite"
        rows = [
            # SQLite: the same text form SQLAlchemy's DateTime uses, so ORM reads and range filters agree
            {"minute": m.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else m, "requests": c[0], "errors": c[1]}
            for m, c in sorted(counts.items())
        ]
        try:
            with engine.begin() as conn:
                conn.execute(stmt, rows)
        except Exception:
            log.warning("could not record API traffic; counts are kept for the next try", exc_info=True)
            with self._lock:
                for m, c in counts.items():
                    self._counts[m][0] += c[0]
                    self._counts[m][1] += c[1]

    async def run(self, engine: Engine, every: float = 5.0) -> None:
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(self.flush, engine)
