"""No request leaves the server for a page to render: every request a page makes goes to the app's own
host, and the NHS.UK font is not even asked for (no Content-Security-Policy refusal for it either)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.web.conftest import segmented, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_ask_nothing_of_any_other_host(live_server: Any, browser: Any, segmented: dict[str, Any]) -> None:  # noqa: F811
    base = live_server.url
    own = urlsplit(base).netloc
    requested: list[str] = []
    refused: list[str] = []
    page = browser.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)

    sign_in(page, base, "gp.riverside")
    for path in ("/people/", f"/people/{segmented['alice'].pk}/", "/worklists/", "/huddles/", "/no-such-page/"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
    elsewhere = [url for url in requested if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != own]
    assert requested and elsewhere == []
    assert refused == []  # the font is the device's own: nothing for the policy to refuse


def test_the_404_page_is_accessible(live_server: Any, browser: Any, segmented: dict[str, Any]) -> None:  # noqa: F811
    page = browser.new_page()
    sign_in(page, live_server.url, "gp.riverside")
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert serious_accessibility_violations(page) == []
