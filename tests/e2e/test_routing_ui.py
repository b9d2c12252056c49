"""The seed's flow 3 in the browser: create a class in Routing Studio, pin a model, watch real traffic
(the openai SDK through `maestro gateway`) in the Traffic panel, make the pinned provider fail and see
the failover event and the traffic move, then switch the class's downgrade on (as a budget would) and
see requests move to the cheaper model. Two simulated providers stand in for the real ones."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from playwright.sync_api import Locator, Page, expect

from maestro.gateway.sim import SimConfig, create_sim
from tests.e2e.conftest import Stack, assert_axe_clean
from tests.services import live_api

pytestmark = pytest.mark.e2e

MSG: list[ChatCompletionMessageParam] = [{"role": "user", "content": "ship it"}]


class GatewayTraffic:
    """Chat completions through the gateway with the openai SDK, a few per second, in a thread; each
    answer's decision (the gateway's x-maestro-route header) is kept."""

    def __init__(self, base_url: str, key: str, model: str, rps: float = 5) -> None:
        self.client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=10)
        self.model, self.interval = model, 1 / rps
        self.served: list[tuple[float, str, str]] = []  # (monotonic time, provider/model, reason)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                raw = self.client.chat.completions.with_raw_response.create(model=self.model, messages=MSG)
                route = dict(p.strip().split("=", 1) for p in raw.headers["x-maestro-route"].split(";"))
                self.served.append((t0, f"{route['provider']}/{route['model']}", route["reason"]))
            except openai.APIError as exc:  # e.g. 404 until the gateway has loaded the new class
                self.errors.append(str(exc))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))  # pacing, not waiting for a condition

    def since(self, t: float) -> list[tuple[str, str]]:
        return [(cand, reason) for at, cand, reason in list(self.served) if at >= t]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(15)


@pytest.fixture
def sims() -> Iterator[tuple[str, str]]:
    with (
        live_api(create_sim(SimConfig(latency_ms=2, chunk_ms=0, api_key="sk-sim-a", name="sim-a"))) as a,
        live_api(create_sim(SimConfig(latency_ms=2, chunk_ms=0, api_key="sk-sim-b", name="sim-b"))) as b,
    ):
        yield a, b


def newest_served(page: Page) -> Locator:
    """The candidate that served the newest request, as the class's Traffic panel shows it."""
    return page.get_by_test_id("recent-candidate").first


def test_flow_3_class_pin_failover_and_downgrade_in_the_ui(page: Page, stack: Stack, sims: tuple[str, str]) -> None:
    api = stack.api()
    suffix = uuid.uuid4().hex[:6]
    pa, pb, cls, alias = f"sim-a-{suffix}", f"sim-b-{suffix}", f"chat-{suffix}", f"fast-{suffix}"
    a, b = sims
    # providers and a gateway key through the API (the UI's own forms have component tests)
    r = api.put(f"/api/routing/providers/{pa}", json={"kind": "openai", "baseUrl": f"{a}/v1", "apiKey": "sk-sim-a"})
    assert r.status_code == 200, r.text
    r = api.put(f"/api/routing/providers/{pb}", json={"kind": "openai", "baseUrl": f"{b}/v1", "apiKey": "sk-sim-b"})
    assert r.status_code == 200, r.text
    r = api.post("/api/routing/keys", json={"name": f"e2e-{suffix}", "env": "dev"})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]

    # Routing Studio: the providers are there, their keys never shown
    page.goto("/routing?tab=providers")
    expect(page.get_by_role("heading", level=1, name="Routing Studio")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=pa)
    expect(row).to_contain_text("Key set")
    expect(page.locator("body")).not_to_contain_text("sk-sim-a")
    assert_axe_clean(page)

    # create the class in the UI: three candidates, the cheap one as the downgrade path; scores on
    # reliability only, so that listed order decides between healthy candidates
    page.get_by_role("tab", name="Classes").click()
    page.get_by_role("button", name="New class").first.click()
    dialog = page.get_by_role("dialog", name="New class")
    dialog.get_by_label("Name (required)").fill(cls)
    dialog.get_by_label("Models it matches").fill(alias)
    candidates = [(pa, "sim-large", "3", "15"), (pb, "sim-large", "3", "15"), (pb, "sim-small", "0.15", "0.6")]
    for i, (prov, model, price_in, price_out) in enumerate(candidates):
        if i:
            dialog.get_by_role("button", name="Add candidate").click()
        cand = dialog.get_by_test_id("candidate-row").nth(i)
        cand.get_by_label("Provider").select_option(prov)
        cand.get_by_label("Model").fill(model)
        cand.get_by_label("Input price (USD per 1M tokens)").fill(price_in)
        cand.get_by_label("Output price (USD per 1M tokens)").fill(price_out)
    dialog.get_by_label("Downgrade to (optional)").select_option(f"{pb}/sim-small")
    dialog.get_by_label("Latency", exact=True).fill("0")
    dialog.get_by_label("Cost", exact=True).fill("0")
    assert_axe_clean(page)
    dialog.get_by_role("button", name="Create class").click()
    expect(page.get_by_role("heading", level=1, name=f"Class {cls}")).to_be_visible()
    assert page.url.endswith(f"/routing/classes/{cls}")

    # pin the dearer first candidate, with a reason
    page.get_by_role("button", name="Pin…").click()
    pin = page.get_by_role("alertdialog", name=f"Pin {cls} to a candidate")
    pin.get_by_label("Candidate").select_option(f"{pa}/sim-large")
    pin.get_by_label("For how long").select_option(label="1 hour")
    pin.get_by_label("Reason").fill("flow 3: evaluating the large model")
    pin.get_by_role("button", name="Pin", exact=True).click()
    expect(pin).to_have_count(0)
    expect(page.get_by_test_id("class-pin")).to_contain_text(f"Pinned to {pa}/sim-large")

    traffic = GatewayTraffic(f"http://127.0.0.1:{stack.env['MAESTRO_GATEWAY_PORT']}/v1", secret, alias)
    try:
        # the traffic shows in the class's Traffic panel, and the live scores name the pin as the reason
        expect(newest_served(page)).to_have_text(f"{pa}/sim-large", timeout=30_000)
        expect(page.get_by_test_id("routing-winner")).to_have_text(f"{pa}/sim-large", timeout=15_000)
        expect(page.get_by_test_id("routing-why")).to_have_text("Why: pinned")
        traffic_table = page.get_by_role("table", name=f"Traffic by candidate of {cls}, busiest first")
        expect(traffic_table.get_by_role("row").filter(has_text=f"{pa}/sim-large")).to_contain_text("100%")
        assert_axe_clean(page)

        # the pinned provider fails: a failover event, and the traffic moves to the next candidate
        failed_at = time.monotonic()
        assert httpx.post(f"{a}/_sim/config", json={"error_rate": 1, "error_status": 503}).status_code == 200
        failover = page.get_by_test_id("routing-event").filter(has_text=f"Failover from {pa}/sim-large to {pb}/sim-large")
        expect(failover.first).to_be_visible(timeout=30_000)
        expect(failover.first).to_contain_text("answered 503")
        expect(newest_served(page)).to_have_text(f"{pb}/sim-large", timeout=30_000)
        expect(traffic_table.get_by_role("row").filter(has_text=f"{pb}/sim-large")).to_be_visible()
        assert all(cand != f"{pa}/sim-large" for cand, _ in traffic.since(failed_at + 2)), traffic.since(failed_at)

        # the budget hook: switch the downgrade on, by keyboard, with a reason
        switch = page.get_by_role("switch", name=f"Downgrade to {pb}/sim-small")
        expect(switch).to_have_attribute("aria-checked", "false")
        switch.focus()
        page.keyboard.press("Space")
        confirm = page.get_by_role("alertdialog", name=f"Downgrade {cls}?")
        expect(confirm).to_be_visible()
        confirm.get_by_label("Reason").focus()
        page.keyboard.type("budget at 80% of the month")
        page.keyboard.press("Tab")  # Cancel
        page.keyboard.press("Tab")  # Downgrade
        expect(confirm.get_by_role("button", name="Downgrade", exact=True)).to_be_focused()
        page.keyboard.press("Enter")
        expect(confirm).to_have_count(0)
        expect(switch).to_have_attribute("aria-checked", "true")
        downgraded_at = time.monotonic()

        # requests move to the cheaper model, and the feed says who downgraded the class and why
        expect(newest_served(page)).to_have_text(f"{pb}/sim-small", timeout=60_000)
        expect(traffic_table.get_by_role("row").filter(has_text=f"{pb}/sim-small")).to_be_visible()
        expect(
            page.get_by_test_id("routing-event").filter(has_text=f"Class {cls} downgraded to {pb}/sim-small").first
        ).to_contain_text("budget at 80% of the month")
        page.get_by_text(re.compile("^Show sampled decisions")).click()
        expect(
            page.get_by_test_id("routing-event").filter(has_text=f"{pb}/sim-small chosen for class {cls}").first
        ).to_be_visible(timeout=15_000)
        assert any(c == f"{pb}/sim-small" and reason == "downgraded" for c, reason in traffic.since(downgraded_at)), (
            traffic.since(downgraded_at)
        )

        # the studio's Traffic tab shows every class's requests
        page.goto("/routing?tab=traffic")
        expect(
            page.get_by_role("table", name="Traffic by candidate, busiest first")
            .get_by_role("row")
            .filter(has_text=f"{pb}/sim-small")
        ).to_be_visible()
        expect(page.get_by_role("table", name="The newest requests, newest first")).to_contain_text(cls)
        assert_axe_clean(page)
        # gateway keys: listed by prefix, the secret never shown again; kill switches: none in force
        page.get_by_role("tab", name="Gateway keys").click()
        expect(page.get_by_role("row").filter(has_text=f"e2e-{suffix}")).to_contain_text("Active")
        expect(page.locator("body")).not_to_contain_text(secret)
        assert_axe_clean(page)
        page.get_by_role("tab", name="Kill switches").click()
        expect(page.get_by_role("button", name="Switch off…")).to_be_visible()
        assert_axe_clean(page)
    finally:
        traffic.close()
        api.delete(f"/api/routing/pin/{cls}")
