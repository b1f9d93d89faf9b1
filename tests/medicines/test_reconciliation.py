"""Medicines reconciliation after discharge: the discharge List compared with the pre-admission list
(started, stopped, changed, unchanged), a reason per change, the unexplained ones highlighted, a task
due within 2 working days of the discharge arriving, and the result as a valid FHIR List (changes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.list import List as FhirList

from careweave.care import services as care
from careweave.medicines import reconciliation
from careweave.medicines.services import ReviewError
from careweave.population.medicines.reconcile import ListedMedicine, add_working_days, compare
from careweave.record import models as rm
from tests.factories import MedicationFactory, StoredResourceFactory
from tests.medicines.conftest import APIXABAN, NAPROXEN, prescribe

FRIDAY = dt.date(2026, 6, 26)
RAMIPRIL_25 = ("318901006", "Ramipril 2.5mg capsules")
RAMIPRIL_5 = ("318902004", "Ramipril 5mg capsules")
BISOPROLOL = ("318590006", "Bisoprolol 2.5mg tablets")


def test_compare_sorts_each_medicine_into_one_kind() -> None:
    def m(code: str, name: str, dose: str = "") -> ListedMedicine:
        return ListedMedicine("https://dmd.nhs.uk", code, name, dose)

    before = [
        m("1", "Naproxen 500mg tablets"),
        m("2", "Apixaban 5mg tablets"),
        m("3", "Ramipril 2.5mg capsules"),
        m("5", "Sertraline 50mg tablets", "one daily"),
    ]
    after = [
        m("2", "Apixaban 5mg tablets"),
        m("4", "Ramipril 5mg capsules"),
        m("6", "Bisoprolol 2.5mg tablets"),
        m("5", "Sertraline 50mg tablets", "two daily"),
    ]
    kinds = {c.name: c.kind for c in compare(before, after)}
    assert kinds == {
        "Naproxen 500mg tablets": "stopped",
        "Apixaban 5mg tablets": "unchanged",
        "Ramipril 5mg capsules": "changed",
        "Bisoprolol 2.5mg tablets": "started",
        "Sertraline 50mg tablets": "changed",  # the same product at another dose
    }


def test_two_working_days_skip_the_weekend() -> None:
    assert add_working_days(FRIDAY, 2) == dt.date(2026, 6, 30)  # Friday -> Tuesday
    assert add_working_days(dt.date(2026, 6, 23), 2) == dt.date(2026, 6, 25)  # Tuesday -> Thursday
    assert add_working_days(dt.date(2026, 6, 27), 2) == dt.date(2026, 6, 30)  # Saturday -> Tuesday


def _discharge(person: rm.Person, *medicines: tuple[str, str]) -> str:
    ids = []
    for code, name in medicines:
        row = MedicationFactory(
            person=person,
            kind="MedicationStatement",
            resource_type="MedicationStatement",
            system="https://dmd.nhs.uk",
            code=code,
            display=name,
            status="active",
            authored_on=FRIDAY,
        )
        ids.append(row.resource.logical_id)
    list_id = f"discharge-{ids[0]}"
    body = {
        "resourceType": "List",
        "id": list_id,
        "status": "current",
        "mode": "snapshot",
        "entry": [{"item": {"reference": f"MedicationStatement/{i}"}} for i in ids],
    }
    StoredResourceFactory(
        resource_type="List", logical_id=list_id, person=person, body=orjson.dumps(body).decode()
    )
    return list_id


@pytest.mark.django_db
def test_reconcile_a_discharge_list(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    care.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True)
    prescribe(alice, RAMIPRIL_25)
    # the pre-admission prescriptions: issued 20 days before the discharge arrived
    rm.Medication.objects.filter(person=alice).update(authored_on=FRIDAY - dt.timedelta(days=20))
    list_id = _discharge(alice, APIXABAN, RAMIPRIL_5, BISOPROLOL)
    made = reconciliation.reconcile_discharge(
        user=gp, person=alice, discharge_list=list_id, received_on=FRIDAY
    )
    kinds = {c.name: c.kind for c in made.changes.all()}
    assert kinds["Naproxen 500mg tablets"] == "stopped" and kinds["Apixaban 5mg tablets"] == "unchanged"
    assert kinds["Ramipril 5mg capsules"] == "changed" and kinds["Bisoprolol 2.5mg tablets"] == "started"
    assert made.due_on == dt.date(2026, 6, 30)
    plan = care.current_care_plan(alice)
    assert plan is not None
    task = plan.actions.get()
    assert task.due_date == dt.date(2026, 6, 30) and task.description.startswith("Medicines reconciliation")
    assert {c.name for c in reconciliation.unexplained(made)} >= {
        "Naproxen 500mg tablets",
        "Bisoprolol 2.5mg tablets",
    }

    stopped = made.changes.get(name=NAPROXEN[1])
    with pytest.raises(ReviewError):
        reconciliation.record_reason(user=gp, change=stopped, reason="  ")
    reconciliation.record_reason(
        user=gp, change=stopped, reason="Stopped on admission: GI bleed risk with apixaban."
    )
    assert NAPROXEN[1] not in {c.name for c in reconciliation.unexplained(made)}

    resource = reconciliation.changes_list(made)
    parsed = FhirList.model_validate(resource)
    assert parsed.mode == "changes" and parsed.subject.reference == f"Patient/{alice.resource.logical_id}"
    flags = {e.item.display: (e.flag.coding[0].code, e.deleted) for e in parsed.entry}
    assert flags[NAPROXEN[1]] == ("03", True) and flags[BISOPROLOL[1]] == ("04", None)
    assert flags[RAMIPRIL_5[1]] == ("02", None) and flags[APIXABAN[1]] == ("01", None)


@pytest.mark.django_db
def test_a_list_not_in_the_record_is_refused_and_nothing_written(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    with pytest.raises(ReviewError) as refused:
        reconciliation.reconcile_discharge(user=gp, person=alice, discharge_list="nope", received_on=FRIDAY)
    assert "discharge_list" in refused.value.problems
    assert not alice.medicines_reconciliations.exists()


@pytest.mark.django_db
def test_the_reconciliation_at_fhir_list(on_three: dict[str, Any]) -> None:
    from django.test import Client

    from careweave.governance.models import ApiToken

    alice, gp, gp_b = on_three["alice"], on_three["gp_a"], on_three["gp_b"]
    care.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True)
    list_id = _discharge(alice, APIXABAN)
    made = reconciliation.reconcile_discharge(
        user=gp, person=alice, discharge_list=list_id, received_on=FRIDAY
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(gp)}")
    bundle = orjson.loads(client.get(f"/fhir/List?patient=Patient/{alice.resource.logical_id}").content)
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert ids[0] == f"medrec-{made.pk}" and list_id in ids  # ours, then the discharge list as sent
    read = client.get(f"/fhir/List/medrec-{made.pk}")
    assert read.status_code == 200 and orjson.loads(read.content)["mode"] == "changes"
    outsider = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(gp_b)}")
    assert outsider.get(f"/fhir/List/medrec-{made.pk}").status_code == 404
