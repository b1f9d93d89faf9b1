"""The structured medication review: the page lists current medicines with what each is for (or no
indication recorded), every finding with its rule, medicines and source; a decision needs a reason;
"continue" keeps a finding away (summary, FHIR) until its medicines change; completing the review
adds to the care plan and raises the tasks in one transaction, and refuses incomplete input whole."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.care import services as care
from careweave.care.models import CarePlan
from careweave.governance.models import AuditEntry
from careweave.medicines import services
from careweave.medicines.findings import finding_key, person_findings
from careweave.medicines.models import FindingDecision
from careweave.record import models as rm
from tests.medicines.conftest import prescribe
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db


def _key(person: rm.Person, rule: str) -> str:
    return next(finding_key(f) for f in person_findings(person).open if f.rule == rule)


def test_the_page_shows_medicines_what_they_are_for_and_findings(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    prescribe(alice, ("325278007", "Metformin 500mg tablets"))
    page = signed_in(gp).get(f"/medicines/people/{alice.pk}/review/").content.decode()
    assert "Structured medication review" in page
    assert "Type 2 diabetes mellitus" in page  # metformin is for her diabetes
    assert "No indication recorded" in page  # apixaban: no atrial fibrillation or stroke recorded
    assert "PINCER-d" in page and "pincer-measures" in page
    assert AuditEntry.objects.filter(
        resource_type="MedicationReview", action="read", person_id=alice.pk
    ).exists()


def test_outside_care_is_refused(on_three: dict[str, Any]) -> None:
    alice = on_three["alice"]
    assert signed_in(on_three["gp_b"]).get(f"/medicines/people/{alice.pk}/review/").status_code == 403


def test_a_decision_needs_a_reason(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    key = _key(alice, "PINCER-d")
    response = signed_in(gp).post(
        f"/medicines/people/{alice.pk}/review/findings/{key}/",
        {f"decision-{key}": "stop", f"reason-{key}": " "},
    )
    assert response.status_code == 400 and "Give the reason for the decision" in response.content.decode()
    assert not FindingDecision.objects.exists()


def test_continue_keeps_a_finding_away_until_its_medicines_change(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    key = _key(alice, "PINCER-e")
    services.record_decision(
        user=gp, person=alice, key=key, decision="continue", reason="Cardiologist advised both after a stent."
    )
    found = person_findings(alice)
    assert "PINCER-e" not in {f.rule for f in found.open}
    assert [f.rule for f, _ in found.accepted] == ["PINCER-e"]
    client = signed_in(gp)
    summary = client.get(f"/people/{alice.pk}/").content.decode()
    fragment_url = f"/medicines/people/{alice.pk}/summary-findings/"
    assert f'hx-get="{fragment_url}"' in summary  # the section loads after the page
    section = client.get(fragment_url).content.decode()
    assert "1 finding reviewed and continued with a reason" in section and "PINCER-d" in section
    assert signed_in(on_three["gp_b"]).get(fragment_url).status_code == 403
    # clopidogrel started: the implicated medicines change, so the finding returns
    prescribe(alice, ("319799004", "Clopidogrel 75mg tablets"))
    assert "PINCER-e" in {f.rule for f in person_findings(alice).open}


def test_completing_updates_the_care_plan_and_raises_tasks(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    care.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True)
    services.record_decision(
        user=gp, person=alice, key=_key(alice, "PINCER-d"), decision="stop", reason="Naproxen: bleeding risk."
    )
    services.complete_review(
        user=gp,
        person=alice,
        shared_decision="Stop naproxen; paracetamol for her knee.",
        what_matters="Walking to church without pain.",
        blood_test="kidney function",
        review_in_weeks=True,
    )
    plan = care.current_care_plan(alice)
    assert plan is not None and plan.version == 1
    assert [g.description for g in plan.goals.all()] == [
        "Medicines: Stop naproxen; paracetamol for her knee."
    ]
    actions = [a.description for a in plan.actions.all()]
    assert actions[0].startswith("Stop: Apixaban 5mg tablets, Naproxen 500mg tablets (PINCER-d)")
    assert "Blood test: kidney function" in actions and "Medication review follow-up in 4 weeks" in actions
    assert services.open_review_of(alice) is None


def test_completing_without_an_owner_writes_nothing(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    services.record_decision(
        user=gp, person=alice, key=_key(alice, "PINCER-d"), decision="refer", reason="To the pain clinic."
    )
    with pytest.raises(services.ReviewError) as refused:
        services.complete_review(user=gp, person=alice, shared_decision="Agreed to see the pain clinic.")
    assert "tasks" in refused.value.problems
    assert not CarePlan.objects.filter(person=alice).exists()
    assert services.open_review_of(alice) is not None


def test_completing_needs_a_decision_and_a_shared_decision(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    response = signed_in(gp).post(f"/medicines/people/{alice.pk}/review/complete/", {"shared_decision": ""})
    page = response.content.decode()
    assert response.status_code == 400
    assert (
        "Record a decision on at least one finding" in page and "Say what was agreed with the person" in page
    )
