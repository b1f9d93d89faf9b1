"""The browser for the browser tests: Debian's chromium (/usr/bin/chromium), never a downloaded one.

`browser` launches it headless for one test and closes it after, whatever the test did; a test opens
the pages it needs (`browser.new_page()`, or a context per signed-in user). Missing chromium skips
the test, except under CI, where it fails. The helpers the tests share (signing in, axe) live here too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require(path: Path, hint: str) -> None:
    if path.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{path} is missing: under CI the browser tests must run ({hint})")
    pytest.skip(f"{path} is missing ({hint})")


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    require(CHROMIUM, "apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread, which Django would take for async
    # code and refuse the test's own (synchronous) database queries; for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def serious_accessibility_violations(page: Any) -> list[str]:
    require(AXE, "run `make assets` (npm ci)")
    # Evaluated through the DevTools protocol: an injected <script> tag would be refused by the
    # Content-Security-Policy, which allows no inline script.
    page.evaluate(AXE.read_text())
    results = page.evaluate("async () => await axe.run()")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sign_in(page: Any, base: str, username: str) -> None:
    """Through the sign-in form, as a person would (the password is the test world's)."""
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
