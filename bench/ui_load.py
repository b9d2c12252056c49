"""Cold load to interactive of the web UI, against a real `maestro up` stack, with a baseline.

.venv/bin/python bench/ui_load.py [--runs 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.services import running_stack


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(name: str, xs: list[float]) -> str:
    return f"{name:<34} p50 {pct(xs, 0.5):7.1f} ms   p95 {pct(xs, 0.95):7.1f} ms   max {max(xs):7.1f} ms   (n={len(xs)})"


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
            browser.close()
        print(summary("baseline: /api/health load", baseline))
        print(summary("cold /login to interactive", login_tti))
        print(summary("sign-in to Control Hub settled", hub_tti))
        print(f"ratio p95 /login vs baseline: {pct(login_tti, 0.95) / max(pct(baseline, 0.95), 0.001):.1f}x")
        print(f"JS on first load (/login): {js_bytes[0] / 1024:.0f} KiB decoded, {js_gzip[0] / 1024:.0f} KiB transferred (gzip)")
        print("budget: TTI p95 <= 2500 ms (aim <= 1000 ms):", "OK" if pct(login_tti, 0.95) <= 2500 else "OVER")


if __name__ == "__main__":
    main()
