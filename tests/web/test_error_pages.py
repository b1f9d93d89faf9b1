"""Errors in the NHS.UK style, never Django's bare pages; OperationOutcomes under /fhir; a server that
cannot listen says so in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, RequestFactory

from careweave.web import errors
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_a_page_that_does_not_exist_is_an_nhs_styled_404(world: dict[str, Any]) -> None:
    response = signed_in(world["gp_a"]).get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page
    assert "nhsuk-header" in page and "nhsuk-frontend.min.css" in page


def test_an_unknown_fhir_address_is_an_operation_outcome() -> None:
    response = Client().get("/fhir/NoSuchThing/1/2/3/4")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "not-found"


def test_the_500_page_is_styled_and_needs_no_session_or_database() -> None:
    request = RequestFactory().get("/people/")  # no user, no session: whatever failed is not touched again
    response = errors.server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page and "nhsuk-header" in page
    assert "Traceback" not in page


def test_a_form_sent_without_its_token_gets_a_plain_explanation(world: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["gp_a"])
    response = client.post("/logout/")
    assert response.status_code == 403
    assert "Your form could not be sent" in response.content.decode()


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "COLUMNS": "200"}
        result = subprocess.run(
            [sys.executable, "-m", "careweave.cli", "serve", "--port", str(port)],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1
    assert "Traceback" not in output
    assert output.splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: the port is already in use. "
                                   "Stop the other server or choose another port with --port."]
    assert not (tmp_path / "unused.sqlite3").exists()  # refused before any migration ran
