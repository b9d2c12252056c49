"""Cold load of the web UI, against a real `maestro up` stack, with a baseline.

.venv/bin/python bench/ui_load.py [--runs 20]

Measures, each from navigation start in a fresh browser context (no cache):
- /login to interactive, and sign-in to the Control Hub settled;
- per main page (hub, runs, run detail, observability), signed in, the cold load to its main
  content visible: the page's heading shown, no skeleton or busy region left in the main region,
  and the page's own content (the hub's timestamp, a run row, the run's title, the SLO cards).
Baseline: the same browser loading /api/health in the same process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.services import running_stack, wait_for


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(name: str, xs: list[float]) -> str:
    return f"{name:<34} p50 {pct(xs, 0.5):7.1f} ms   p95 {pct(xs, 0.95):7.1f} ms   max {max(xs):7.1f} ms   (n={len(xs)})"


# When the main content of each page counts as visible (evaluated in the page at each frame).
SETTLED = "!!document.querySelector('#main h1') && !document.querySelector('#main [data-slot=skeleton], #main [aria-busy=true]')"
PAGES: dict[str, tuple[str, str]] = {
    "hub": ("/", "!!document.querySelector('[data-testid=hub-updated]')"),
    "runs": ("/runs", "!!document.querySelector('#main tbody tr a[href*=\"/runs/\"]')"),
    "run detail": ("/runs/{run}", "(document.querySelector('#main h1')?.textContent ?? '').includes('#')"),
    "observability": ("/observability", "!!document.querySelector('#main h2, #main [data-slot=card]')"),
}


def cold_content_visible(browser: Browser, base: str, password: str, path: str, ready: str) -> float:
    """Milliseconds from navigation start to the page's main content visible, signed in, no cache."""
    ctx = browser.new_context(base_url=base)
    try:
        r = ctx.request.post("/api/auth/login", data={"username": "admin", "password": password})
        assert r.ok, r.text()
        page = ctx.new_page()
        page.goto(path, wait_until="commit")
        handle = page.wait_for_function(f"() => ({SETTLED}) && ({ready}) && performance.now()", polling="raf", timeout=60_000)
        return float(handle.json_value())
    finally:
        ctx.close()


def seed_run(base: str, token: str) -> str:
    """A finished run for the run detail page."""
    api = httpx.Client(base_url=base.replace("localhost", "127.0.0.1"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    spec = "name: bench-ui\nsteps:\n  - id: build\n    run: echo built\n  - id: test\n    needs: [build]\n    run: echo tested\n"
    assert api.post("/api/pipelines", json={"spec": spec}).status_code in (201, 409)
    run = api.post("/api/runs", json={"pipeline": "bench-ui", "env": "dev"}).json()
    wait_for(lambda: api.get(f"/api/runs/{run['id']}").json()["status"] == "succeeded", 120, 0.25)
    return str(run["id"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with running_stack(Path(tempfile.mkdtemp(prefix="maestro-bench-")), token_name="bench") as stack:
        base, password = stack.base_url, stack.admin_password
        baseline, login_tti, hub_tti, js_bytes, js_gzip = [], [], [], [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for i in range(args.runs + 2):  # 2 warm-up rounds (server-side caches), not counted
                ctx = browser.new_context(base_url=base)
                page = ctx.new_page()
                page.goto("/api/health")
                b = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
                page.close()
                page = ctx.new_page()
                page.goto("/login", wait_until="commit")
                page.get_by_role("button", name="Sign in").wait_for(state="visible")
                t_login = page.evaluate("() => performance.now()")
                scripts = page.evaluate(
                    "() => performance.getEntriesByType('resource')"
                    ".filter(r => r.initiatorType === 'script' || r.name.endsWith('.js'))"
                    ".map(r => [r.decodedBodySize, r.encodedBodySize])"
                )
                page.get_by_label("Username").fill("admin")
                page.get_by_label("Password").fill(password)
                t0 = page.evaluate("() => performance.now()")
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", level=1).wait_for()
                page.wait_for_load_state("networkidle")
                t1 = page.evaluate("() => performance.now()")
                ctx.close()
                if i >= 2:
                    baseline.append(b)
                    login_tti.append(t_login)
                    hub_tti.append(t1 - t0)
                    js_bytes.append(sum(s[0] for s in scripts))
                    js_gzip.append(sum(s[1] for s in scripts))
            run_id = seed_run(base, stack.token)
            content: dict[str, list[float]] = {name: [] for name in PAGES}
            for i in range(args.runs + 2):  # pages interleaved, so a busy spell hits them all alike
                for name, (path, ready) in PAGES.items():
                    t = cold_content_visible(browser, base, password, path.format(run=run_id), ready)
                    if i >= 2:
                        content[name].append(t)
            browser.close()
        print(summary("baseline: /api/health load", baseline))
        print(summary("cold /login to interactive", login_tti))
        print(summary("sign-in to Control Hub settled", hub_tti))
        print(f"ratio p95 /login vs baseline: {pct(login_tti, 0.95) / max(pct(baseline, 0.95), 0.001):.1f}x")
        print(f"JS on first load (/login): {js_bytes[0] / 1024:.0f} KiB decoded, {js_gzip[0] / 1024:.0f} KiB transferred (gzip)")
        print("budget: TTI p95 <= 2500 ms (aim <= 1000 ms):", "OK" if pct(login_tti, 0.95) <= 2500 else "OVER")
        print("cold load to main content visible (signed in, no cache):")
        for name, xs in content.items():
            ratio = pct(xs, 0.95) / max(pct(baseline, 0.95), 0.001)
            goal = "OK" if pct(xs, 0.95) <= 1000 else "OVER"
            print(f"  {summary(name, xs)}   {ratio:.1f}x baseline p95   goal p95 <= 1000 ms: {goal}")


if __name__ == "__main__":
    main()
