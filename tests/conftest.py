from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from maestro.api.app import create_app
from maestro.config import Settings
from maestro.db import get_engine
from maestro.domain.identity import bootstrap
from maestro.migrate import upgrade
from tests.services import postgres_server, temporal_server, valkey_server

ADMIN_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with valkey_server() as url:
        yield url


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    with temporal_server() as (address, _):
        yield address


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        # a fresh schema per test: drop everything Maestro created
        from sqlalchemy import text

        eng = get_engine(url)
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        return url
    return f"sqlite:///{tmp_path / 'maestro.db'}"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, redis_url: str, temporal_address: str) -> Settings:
    redis.Redis.from_url(redis_url).flushdb()
    return Settings(
        data_dir=tmp_path,
        database_url=db_url,
        redis_url=redis_url,
        temporal_address=temporal_address,
        control_task_queue=f"test-{uuid.uuid4().hex[:8]}",
        runner_queue_prefix=f"test-runner-{uuid.uuid4().hex[:8]}-",
        admin_password=ADMIN_PASSWORD,
        sse_heartbeat_seconds=0.5,
        login_max_failures=3,
    )


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    upgrade(settings.effective_database_url)
    bootstrap(get_engine(settings.effective_database_url), admin_username="admin", admin_password=ADMIN_PASSWORD)
    return settings


@pytest.fixture
def app(migrated: Settings):  # type: ignore[no-untyped-def]
    return create_app(migrated, start_background=False)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    # https base URL: the session cookie is Secure, as in production
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def engine(migrated: Settings):  # type: ignore[no-untyped-def]
    return get_engine(migrated.effective_database_url)


@pytest.fixture
def workers(migrated: Settings) -> Iterator[Settings]:
    """The control worker and a runner (pool "default"), in-process on their own event loop."""
    import asyncio
    import threading

    from maestro.rollouts.sync import provider_sync
    from maestro.temporal import connect
    from maestro.workers.control import build_worker
    from maestro.workers.runner import build_runner

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        client = await connect(migrated)
        async with build_worker(client, migrated), build_runner(client, migrated):
            syncing = asyncio.create_task(provider_sync(migrated, stop))  # as run_worker does
            started.set()
            await stop.wait()
            await syncing

    t = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    t.start()
    deadline = time.monotonic() + 180  # a loaded machine starts them slowly; a failed start ends the wait at once
    while not started.wait(0.5):
        assert t.is_alive(), "workers failed to start (see the thread's exception above)"
        assert time.monotonic() < deadline, "workers did not start"
    yield migrated
    loop.call_soon_threadsafe(stop.set)
    t.join(30)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: they need the built UI and take longest; everything else reports first."""
    items.sort(key=lambda item: "/e2e/" in str(item.fspath))
