"""Segmentation on a synthetic population imported through the real importer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model

from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.governance.models import AuditEntry, Role, StaffProfile
from careweave.governance.permissions import AccessRefused
from careweave.record import models as rm
from careweave.segmentation import models as sm
from careweave.segmentation.run import run_segmentation
from careweave.segmentation.services import override_worklist
from careweave.synth import generate

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 10, 1)


@pytest.fixture
def population(tmp_path: Path) -> None:
    generate(600, 11, tmp_path / "synth")
    importer = Importer()
    import_paths(importer, [tmp_path / "synth"])
    assert importer.summary.ok


def test_run_is_stored_and_explains_itself(population: None, tmp_path: Path) -> None:
    run, result = run_segmentation(classes=2, seed=3, as_of=AS_OF, export_dir=tmp_path / "export")
    assert run.is_current and run.n_classes == 2
    living = rm.Person.objects.filter(deceased=False, birth_date__isnull=False).count()
    assert run.people_count == sm.PersonSegment.objects.filter(run=run).count() <= rm.Person.objects.count()
    assert run.people_count >= living * 0.95
    on_register = sm.PersonSegment.objects.filter(run=run, mltc=True)
    assert on_register.count() == run.register_size > 0
    # everyone on the register has a cluster; nobody else does
    assert not on_register.filter(cluster__isnull=True).exists()
    assert not sm.PersonSegment.objects.filter(run=run, mltc=False, cluster__isnull=False).exists()
    # the register names codes that really are in each person's record
    for entry in sm.RegisterEntry.objects.filter(run=run, evidence="diagnosis")[:50]:
        assert rm.Condition.objects.filter(person_id=entry.person_id, code=entry.code).exists()
    # every worklist entry says why, in words
    entries = sm.WorklistEntry.objects.filter(run=run)
    assert entries.exists() and all(
        e.reasons and all(isinstance(r, str) and r for r in e.reasons) for e in entries[:200]
    )
    clusters = list(sm.Cluster.objects.filter(run=run))
    assert sum(c.size for c in clusters) == run.register_size
    assert all(c.staff_description and c.person_sentence for c in clusters)
    aggregates = pq.read_table(tmp_path / "export" / "planning_aggregates.parquet").to_pylist()
    assert all(row["people"] is None or row["people"] >= 10 for row in aggregates)
    opted_out = sum(result.features.column("national_opt_out").to_pylist())
    assert opted_out > 0  # the synthetic population has some, so the exclusion is exercised
    counted = sum(r["people"] or 0 for r in aggregates if r["dimension"] == "sex")
    suppressed = [r for r in aggregates if r["dimension"] == "sex" and r["suppressed"]]
    assert counted + 9 * len(suppressed) >= run.people_count - opted_out >= counted


def test_overrides_survive_reruns(population: None) -> None:
    run, _ = run_segmentation(classes=2, seed=3, as_of=AS_OF)
    entry = sm.WorklistEntry.objects.filter(run=run, list_id="care_coordination").first()
    assert entry is not None
    person = rm.Person.objects.get(pk=entry.person_id)
    outsider = (
        rm.Person.objects.exclude(
            pk__in=sm.WorklistEntry.objects.filter(run=run, list_id="care_coordination").values("person_id")
        )
        .exclude(registered_practice=None)
        .filter(registered_practice=person.registered_practice)
        .first()
    )
    assert outsider is not None
    gp = get_user_model().objects.create_user("gp", password="a-long-test-password")
    StaffProfile.objects.create(user=gp, role=Role.GP, organisation=person.registered_practice)
    override_worklist(
        user=gp,
        person=person,
        list_id="care_coordination",
        action="remove",
        reason="Already has a named co-ordinator",
    )
    override_worklist(
        user=gp,
        person=outsider,
        list_id="care_coordination",
        action="add",
        reason="Carer reports she is not coping",
    )
    assert AuditEntry.objects.filter(actor=gp, action__startswith="worklist-").count() == 2
    rerun, _ = run_segmentation(classes=2, seed=3, as_of=AS_OF)
    lists = sm.WorklistEntry.objects.filter(run=rerun, list_id="care_coordination")
    assert not lists.filter(person=person).exists()
    added = lists.get(person=outsider)
    assert added.added_by_clinician and "not coping" in " ".join(added.reasons)
    analyst = get_user_model().objects.create_user("analyst", password="a-long-test-password")
    StaffProfile.objects.create(user=analyst, role=Role.ANALYST)
    with pytest.raises(AccessRefused):
        override_worklist(
            user=analyst,
            person=person,
            list_id="care_coordination",
            action="add",
            reason="should not be allowed",
        )


def test_worklist_entries_carry_the_practice_of_the_run(population: None) -> None:
    run, _ = run_segmentation(classes=2, seed=3, as_of=AS_OF)
    entries = list(sm.WorklistEntry.objects.filter(run=run).values_list("person_id", "practice_id"))
    assert entries
    practice_of = dict(rm.Person.objects.values_list("pk", "registered_practice_id"))
    assert all(practice == practice_of[person] for person, practice in entries)
    assert any(practice is not None for _, practice in entries)
