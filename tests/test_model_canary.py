"""A model canary is a RolloutWorkflow like a service canary: a service with the `gateway` traffic
provider moves a routing class's requests from one candidate model to another, the gateway counts each
version's traffic where the built-in analyses read it, a failing model is rolled back and a healthy one
promoted. Real Temporal, real gateway, two simulated providers, the openai SDK as the client."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from maestro.config import Settings
from maestro.gateway.secrets import load_key_ring
from maestro.gateway.server import Gateway
from maestro.gateway.sim import SimConfig, create_sim
from tests.factories import Caller, login
from tests.services import live_api, serving_in_thread, wait_for
from tests.test_rollouts import analysis, rollout, wait_rollout
from tests.test_routing_api import setup_routing


class ModelTraffic:
    """Chat requests through the gateway at a steady pace; remembers which provider answered."""

    def __init__(self, gateway: str, secret: str, rps: float = 25) -> None:
        self.client = openai.OpenAI(base_url=f"{gateway}/v1", api_key=secret, max_retries=0, timeout=10)
        self.rps = rps
        self.seen: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                raw = self.client.chat.completions.with_raw_response.create(
                    model="fast", messages=[{"role": "user", "content": "hi"}]
                )
                route = dict(p.strip().split("=", 1) for p in raw.headers["x-maestro-route"].split(";"))
                self.seen.append((time.monotonic(), route["model"]))
            except openai.APIError as exc:
                self.seen.append((time.monotonic(), f"error {getattr(exc, 'status_code', '?')}"))
            time.sleep(1 / self.rps)

    def since(self, t0: float) -> Counter[str]:
        return Counter(m for t, m in list(self.seen) if t >= t0)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def sims() -> Iterator[tuple[str, str]]:
    with (
        live_api(create_sim(SimConfig(latency_ms=1, chunk_ms=0, api_key="sk-real-a", name="sim-a"))) as a,
        live_api(create_sim(SimConfig(latency_ms=1, chunk_ms=0, api_key="sk-real-b", name="sim-b"))) as b,
    ):
        yield a, b


@pytest.fixture
def gateway(migrated: Settings, workers: Settings) -> Iterator[str]:
    s = migrated.model_copy(update={"gateway_refresh_seconds": 0.2})
    g = Gateway(s, load_key_ring(None, s.data_dir))
    with serving_in_thread(lambda: g.start(host="127.0.0.1", port=0), g.stop) as url:
        yield url


def model_service(caller: Caller, name: str) -> None:
    r = caller.post(
        "/api/services",
        json={"name": name, "env": "dev", "stableUrl": "model://prov-a/sim-small", "provider": "gateway",
              "providerConfig": {"routeClass": "chat"}},
    )  # fmt: skip
    assert r.status_code == 201, r.text


def test_a_failing_model_is_rolled_back_and_a_healthy_one_promoted(
    client: TestClient, gateway: str, sims: tuple[str, str], migrated: Settings
) -> None:
    caller = login(client)
    secret = setup_routing(caller, sims)
    cls = caller.get("/api/routing/classes/chat").json()
    body = {k: cls[k] for k in ("match", "candidates", "downgradeTo")} | {"failover": {"backoffMs": 0, "cooldownSeconds": 3}}
    assert caller.put("/api/routing/classes/chat", json=body).status_code == 200
    model_service(caller, "chat-model")
    traffic = ModelTraffic(gateway, secret)
    try:
        wait_for(lambda: traffic.since(0)["sim-small"] > 5 or None, 30, 0.1)  # (401s until the new key is loaded)
        warm = time.monotonic()
        # the canary model fails: its errors are counted for the canary version and the rollout rolls back
        sim_b = sims[1]
        httpx.post(f"{sim_b}/_sim/config", json={"error_rate": 1.0, "error_status": 500}).raise_for_status()
        r = rollout(caller, "chat-model", "model://prov-b/sim-large", [{"setWeight": 50}, analysis(count=3), {"setWeight": 100}])
        done = wait_rollout(caller, r["id"], lambda x: x["status"] not in ("running", "rolling_back"), 90)
        assert done["status"] == "rolled_back" and done["weight"] == 0, (done["message"], done["analyses"])
        decided = [a for a in done["analyses"] if a["outcome"] != "inconclusive"]
        assert decided and decided[0]["outcome"] == "failed" and "error_rate" in done["message"], done["analyses"]
        # the client never saw the canary's failures: each failed over to the stable model
        assert not [m for t, m in traffic.seen if t >= warm and m.startswith("error")]
        t0 = time.monotonic() + 1.0
        wait_for(lambda: traffic.since(t0)["sim-small"] > 10 or None, 30, 0.1)
        assert traffic.since(t0)["sim-large"] == 0

        # healthy now: it walks to 100% and becomes what the class sends
        httpx.post(f"{sim_b}/_sim/config", json={"error_rate": 0.0}).raise_for_status()

        def cooled() -> bool:
            rows = caller.get("/api/routing/candidates", params={"class": "chat"}).json()["candidates"]
            return all(c["coolingSeconds"] == 0 for c in rows)

        wait_for(cooled, 30, 0.2)  # the failing model's cooldown (3 s) is over
        again = rollout(
            caller, "chat-model", "model://prov-b/sim-large", [{"setWeight": 50}, analysis(count=2), {"setWeight": 100}]
        )
        at50 = wait_rollout(caller, again["id"], lambda x: x["weight"] == 50, 60)
        t50 = time.monotonic() + 1.0
        ok = wait_rollout(caller, again["id"], lambda x: x["status"] not in ("running", "rolling_back"), 90)
        assert ok["status"] == "succeeded", ok
        both = traffic.since(t50)
        assert at50["weight"] == 50 and both["sim-large"] > 0
        t1 = time.monotonic() + 1.0
        wait_for(lambda: traffic.since(t1)["sim-large"] > 10 or None, 30, 0.1)
        assert traffic.since(t1)["sim-small"] == 0
    finally:
        traffic.close()


def test_model_urls_belong_to_the_gateway_provider(client: TestClient, migrated: Settings, workers: Settings) -> None:
    caller = login(client)
    r = caller.post("/api/services", json={"name": "m1", "env": "dev", "stableUrl": "model://prov-a/x"})
    assert r.status_code == 422 and "model canaries" in r.text
    r = caller.post(
        "/api/services",
        json={
            "name": "m2",
            "env": "dev",
            "stableUrl": "http://10.0.0.1",
            "provider": "gateway",
            "providerConfig": {"routeClass": "chat"},
        },
    )
    assert r.status_code == 422 and "model://<provider>/<model>" in r.text
