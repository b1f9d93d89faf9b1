"""The synthetic population's referral journeys (issue 15, item 5) go through the importer and the
scan: every kind of finding is found in them, each Task's states follow the transition table, and
the journeys leave the rest of each person's record as it was."""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.referrals.models import ReferralTask, ReferralTaskState
from careweave.referrals.scan import referral_findings
from careweave.synth.generator import DEFAULT_REFERENCE_DATE, generate
from careweave.terminology.referrals import load_referral_rules

PEOPLE, SEED = 300, 42


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(PEOPLE, SEED, out)
    return out


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_the_journeys_cover_every_state_across_sectors(synthetic: Path) -> None:
    versions = _lines(synthetic / "Task.ndjson")
    tasks = list({t["id"]: t for t in versions}.values())  # each Task's latest version (written in order)
    assert len(versions) > len(tasks)  # the histories, not only the latest states
    states = collections.Counter(t["businessStatus"]["coding"][0]["code"] for t in tasks)
    assert {"received", "accepted", "rejected", "completed"} <= set(states)
    referrals = {r["id"]: r for r in _lines(synthetic / "ServiceRequest.ndjson")}
    owners = {t["owner"]["reference"] for t in tasks}
    assert len(owners) >= 5  # hospital, community, mental health, social care, voluntary services...
    assert all(t["focus"]["reference"].split("/")[1] in referrals for t in tasks)
    dna = [
        a for a in _lines(synthetic / "Appointment.ndjson") if a.get("basedOn") and a["status"] == "noshow"
    ]
    assert dna
    letters = _lines(synthetic / "DocumentReference.ndjson")
    completed = [t for t in tasks if t["businessStatus"]["coding"][0]["code"] == "completed"]
    assert 0 < len(completed) - len(letters) < len(completed) / 4  # most, not all, send a letter back


@pytest.mark.django_db
def test_the_scan_finds_every_kind_of_finding_in_the_synthetic_journeys(synthetic: Path) -> None:
    importer = Importer(source_system=f"urn:careweave:synth:{SEED}")
    import_paths(importer, [synthetic])
    assert importer.summary.ok, importer.summary.errors[:3]
    found = referral_findings(as_of=DEFAULT_REFERENCE_DATE)
    kinds = collections.Counter(f["finding"] for f in found)
    assert set(kinds) == {"loop", "lost", "no-outcome", "validation-due"}
    assert any(f["explanation"].startswith("Passed back and forth") for f in found)
    # every Task's states, in the order of their dates, follow the reviewed transitions
    rules = load_referral_rules()
    by_task: dict[int, list[tuple[dt.date | None, str]]] = collections.defaultdict(list)
    for resource, on, state in ReferralTaskState.objects.values_list("resource_id", "on", "business_status"):
        by_task[resource].append((on, state))
    assert len(by_task) == ReferralTask.objects.exclude(business_status="").count()
    assert sum(len(states) for states in by_task.values()) > len(by_task)  # timelines, not single states
    for states in by_task.values():
        ordered = [s for _, s in sorted(states, key=lambda x: x[0] or dt.date.min)]
        assert all(rules.transition_error(a, b) is None for a, b in zip(ordered, ordered[1:], strict=False))
