"""Time to first contentful paint of the holistic summary in headless Chromium on loopback.

    uv run python bench/bench_first_paint.py [--database-url postgres://postgres@127.0.0.1:5432/careweave_bench]
        [--pages 40] [--json]

Against a loaded database (as bench/bench_workspace.py: bench/bench_import.py or `careweave import`
loads one), this signs the workspace bench's GP in through the login form in Debian's chromium
(Playwright with executable_path=/usr/bin/chromium, never a downloaded browser), opens the summaries of
random people in their care one after another, and reads the browser's own `first-contentful-paint`
paint timing for each. The baseline in the same run is the sign-in page, which holds no patient data
and runs no query: the difference is what the summary itself costs. Exits 2 when the database is
missing or empty.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_workspace import (  # noqa: E402  (a sibling script, not a package)
    BENCH_PASSWORD,
    BENCH_USER,
    DEFAULT_DATABASE_URL,
    ROOT,
    database_ready,
    free_port,
    percentile,
    prepare,
    wait_until_serving,
)

CHROMIUM = "/usr/bin/chromium"
FCP_SCRIPT = """() => new Promise(resolve => {
  const found = performance.getEntriesByName('first-contentful-paint');
  if (found.length) { resolve(found[0].startTime); return; }
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      if (entry.name === 'first-contentful-paint') resolve(entry.startTime);
    }
  }).observe({type: 'paint', buffered: true});
})"""


def first_paint(page: Any, url: str) -> float:
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        raise SystemExit(f"{url} answered HTTP {response.status if response else 'nothing'}")
    return float(page.evaluate(FCP_SCRIPT))


def measure(base: str, people: list[int], pages: int, seed: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    rng = random.Random(seed)
    chosen = [rng.choice(people) for _ in range(pages)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            # A fresh context per page load: no warm HTTP cache of the stylesheet between samples
            # would flatter the figure, so each page is a first visit, as at the start of a clinic.
            baseline: list[float] = []
            summary: list[float] = []
            for person in chosen:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                baseline.append(first_paint(page, f"{base}/login/"))
                page.fill("input[name=username]", BENCH_USER)
                page.fill("input[name=password]", BENCH_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("load")
                if "/login/" in page.url:
                    raise SystemExit("sign-in failed in the browser")
                summary.append(first_paint(page, f"{base}/people/{person}/"))
                context.close()
        finally:
            browser.close()
    return {"summary": summary, "sign_in_page_baseline": baseline}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument(
        "--pages", type=int, default=40, help="summaries opened (each in a fresh browser context)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    problem = database_ready(args.database_url)
    if problem:
        print(f"The benchmark database {args.database_url} is not ready: {problem}.", file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careweave.config.settings")
    sys.path.insert(0, str(ROOT / "src"))
    from careweave.cli import setup_django

    setup_django()
    _user, people, practice_size = prepare()
    if not people:
        print("The GP at the largest practice has no one in their care.", file=sys.stderr)
        return 2
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "careweave.cli", "serve", "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server)
        series = measure(base, people, args.pages, args.seed)
    finally:
        server.terminate()
        server.wait(timeout=30)
    results: dict[str, Any] = {
        "database": re.sub(r"//[^@/]*@", "//", args.database_url),
        "largest_practice_registered": practice_size,
        "pages": args.pages,
    }
    for name, values in series.items():
        results[name] = {
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 0.95), 1),
            "max_ms": round(max(values), 1),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"First contentful paint in headless Chromium on loopback ({results['database']}; "
        f"GP at a practice of {practice_size:,} people; {args.pages} first visits)"
    )
    print(f"{'page':<24} {'median':>9} {'p95':>9} {'max':>9}")
    for name in ("summary", "sign_in_page_baseline"):
        r = results[name]
        print(f"{name:<24} {r['median_ms']:>6.1f} ms {r['p95_ms']:>6.1f} ms {r['max_ms']:>6.1f} ms")
    extra = results["summary"]["median_ms"] - results["sign_in_page_baseline"]["median_ms"]
    print(f"The summary paints {extra:.1f} ms (median) after a page with no data and no query.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
