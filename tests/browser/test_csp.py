"""The Content-Security-Policy in a real browser: the key pages load and work (NHS.UK scripts, htmx)
without a single CSP violation reported on the console."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.web.conftest import segmented, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_key_pages_run_under_the_content_security_policy(live_server: Any, browser: Any, segmented: dict[str, Any]) -> None:  # noqa: F811
    base = live_server.url
    alice = segmented["alice"]
    violations: list[str] = []

    def on_console(message: Any) -> None:
        text = message.text
        # Any refusal (a script, a style, an image, a font: careweave.css replaces the NHS.UK font's
        # faces with the device's own, so none is asked of assets.nhs.uk) fails.
        if "Content Security Policy" in text:
            violations.append(f"{page.url}: {text}")

    page = browser.new_page()
    page.on("console", on_console)
    response = page.goto(f"{base}/login/")
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    # The NHS.UK template's inline script ran (with the nonce), and the module initialised the
    # password input's show/hide button.
    assert "js-enabled" in page.evaluate("document.body.className")
    assert page.get_by_role("button", name="Show password").is_visible()
    sign_in(page, base, "gp.riverside")
    page.wait_for_url(f"{base}/today/")
    page.goto(f"{base}/people/")

    # htmx still swaps the search results in without a page load.
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Search by name or NHS number").fill("Zephyrine")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/people/?q=Zephyrine")
    assert page.evaluate("window.sameDocument") is True

    page.goto(f"{base}/people/{alice.pk}/")
    assert page.get_by_role("img", name="HbA1c").is_visible()
    # The print button works without an inline onclick (window.print is replaced to observe it).
    page.evaluate("window.printed = false; window.print = () => { window.printed = true }")
    page.get_by_role("button", name="Print this summary").click()
    assert page.evaluate("window.printed") is True

    page.goto(f"{base}/worklists/")
    page.get_by_label("Worklist").select_option("mdt_discussion")
    page.get_by_role("button", name="Show people").click()
    page.wait_for_url("**/worklists/?list=mdt_discussion*")
    page.goto(f"{base}/care/people/{alice.pk}/team/")
    page.goto(f"{base}/huddles/")

    assert violations == [], "\n".join(violations)
