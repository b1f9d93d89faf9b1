"""`careweave referrals scan [--as-of] --json` on referral histories that reach the record three ways:
one transaction bundle, an NDJSON file, and the FHIR API one resource (and one Task version) at a
time. The findings are the same whichever way the history arrived."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from typer.testing import CliRunner

from careweave.cli import app
from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.governance.models import AuditEntry, Role
from tests.fhir.test_api import make_user
from tests.referrals import journeys

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2025, 6, 30)
A, B, C, D, E, F = "9434765803", "9434765811", "9434765838", "9434765846", "9434765854", "9434765862"


def ago(weeks: int) -> dt.date:
    return AS_OF - dt.timedelta(weeks=weeks)


def history() -> journeys.History:
    h = journeys.base(A, "pa")
    for nhs, pid in ((B, "pb"), (C, "pc"), (D, "pd"), (E, "pe"), (F, "pf")):
        h.add(journeys.patient(pid, nhs))
    # A: accepted 19 weeks ago, validated at 12 weeks, no appointment booked: lost
    h.referral("sr-a", "pa", "gp", "hosp", ago(19))
    h.task("task-a", "sr-a", "pa", "hosp", ("received", ago(19)), ("accepted", ago(18)))
    h.validation("val-a", "sr-a", "pa", ago(7))
    # B: rejected twice for knee pain, 11 months apart: a loop
    h.referral("sr-b1", "pb", "gp", "hosp", "2024-05-01")
    h.task(
        "task-b1",
        "sr-b1",
        "pb",
        "hosp",
        ("received", "2024-05-02"),
        ("rejected", "2024-05-10"),
        reason="does-not-meet-criteria",
    )
    h.referral("sr-b2", "pb", "gp", "hosp", "2025-04-01")
    h.task("task-b2", "sr-b2", "pb", "hosp", ("rejected", "2025-04-03"), reason="refer-elsewhere")
    # C: practice -> hospital -> practice -> hospital, each completed with a letter: a ping-pong
    for rid, sender, receiver, weeks, reason in (
        ("sr-c1", "gp", "hosp", 30, "1"),
        ("sr-c2", "hosp", "gp", 26, "2"),
        ("sr-c3", "gp", "hosp", 22, "3"),
    ):
        h.referral(rid, "pc", sender, receiver, ago(weeks), reason=f"3098900{reason}")
        h.task(f"task-{rid}", rid, "pc", receiver, ("accepted", ago(weeks)), ("completed", ago(weeks - 2)))
        h.letter(f"letter-{rid}", rid, "pc", ago(weeks - 3))
    # D: seen and discharged 6 weeks ago; no letter back: no outcome
    h.referral("sr-d", "pd", "gp", "hosp", ago(12))
    h.task(
        "task-d", "sr-d", "pd", "hosp", ("accepted", ago(11)), ("in-progress", ago(9)), ("completed", ago(6))
    )
    h.appointment("appt-d", "sr-d", "pd", "fulfilled", ago(7))
    # E: accepted, seen and completed in time with a letter named in the Task's output: nothing
    h.referral("sr-e", "pe", "gp", "hosp", ago(10))
    h.appointment("appt-e", "sr-e", "pe", "fulfilled", ago(6))
    h.letter("letter-e", None, "pe", ago(3))
    h.task(
        "task-e",
        "sr-e",
        "pe",
        "hosp",
        ("accepted", ago(9)),
        ("completed", ago(4)),
        outputs=("DocumentReference/letter-e",),
    )
    # F: missed the first appointment 6 weeks ago and was never rebooked: lost
    h.referral("sr-f", "pf", "gp", "hosp", ago(10))
    h.task("task-f", "sr-f", "pf", "hosp", ("accepted", ago(9)), ("in-progress", ago(8)))
    h.appointment("appt-f", "sr-f", "pf", "noshow", ago(6))
    return h


EXPECTED = [
    (A, "lost", ["sr-a"], 19),
    (B, "loop", ["sr-b1", "sr-b2"], None),
    (C, "loop", ["sr-c1", "sr-c2", "sr-c3"], None),
    (D, "no-outcome", ["sr-d"], None),
    (F, "lost", ["sr-f"], 10),
]


def _by_bundle(_tmp: Path) -> None:
    importer = Importer(source_system="urn:test")
    importer.import_bundle(history().bundle(), "history.json")
    assert importer.summary.ok, [i.as_fhir() for i in importer.summary.errors]


def _by_ndjson(tmp: Path) -> None:
    file = tmp / "history.ndjson"
    file.write_text("".join(json.dumps(r) + "\n" for r in history().resources))
    importer = Importer(source_system="urn:test")
    import_paths(importer, [file])
    assert importer.summary.ok, [i.as_fhir() for i in importer.summary.errors]


def _by_api(_tmp: Path) -> None:
    client, token = Client(), make_user("integrator", Role.INTEGRATOR, None)
    for resource in history().api_writes():
        response = client.put(
            f"/fhir/{resource['resourceType']}/{resource['id']}",
            data=json.dumps(resource),
            content_type="application/fhir+json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code in (200, 201), response.content


def _scan(*args: str) -> Any:
    return CliRunner().invoke(app, ["referrals", "scan", *args])


@pytest.mark.parametrize("arrive", [_by_bundle, _by_ndjson, _by_api], ids=["bundle", "ndjson", "api"])
def test_the_same_findings_whichever_way_the_history_arrived(arrive: Any, tmp_path: Path) -> None:
    arrive(tmp_path)
    result = _scan("--as-of", AS_OF.isoformat(), "--json")
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert all(
        set(p) == {"nhs_number", "finding", "referrals", "weeks_waiting", "explanation"} for p in printed
    )
    found = sorted((p["nhs_number"], p["finding"], p["referrals"], p["weeks_waiting"]) for p in printed)
    assert found == EXPECTED
    dna = next(p for p in printed if p["nhs_number"] == F)
    assert ago(6).isoformat() in dna["explanation"] and "did not attend" in dna["explanation"]
    loop = next(p for p in printed if p["nhs_number"] == B)
    assert "2024-05-01" in loop["explanation"] and "refer-elsewhere" in loop["explanation"]
    audit = AuditEntry.objects.get(action="referral-scan")
    assert audit.system_actor == "careweave referrals scan"
    assert all(number not in audit.reason for number in (A, B, C, D, E, F))  # counts, never NHS numbers


def test_a_bad_as_of_is_a_clear_error() -> None:
    result = _scan("--as-of", "30/06/2025", "--json")
    assert result.exit_code == 2
    assert "--as-of must be a date YYYY-MM-DD" in result.output
    assert not AuditEntry.objects.filter(action="referral-scan").exists()


def test_the_summary_without_json_counts_findings(tmp_path: Path) -> None:
    _by_bundle(tmp_path)
    result = _scan("--as-of", AS_OF.isoformat())
    assert result.exit_code == 0
    assert "2 lost" in result.output and "2 loop" in result.output and "1 no-outcome" in result.output
