"""The structured medication review's writes (NHS England SMR specification; issue 13, item 3).

- ``record_decision``: the reviewer's decision on one current finding (stop, reduce, switch, continue
  with reason, refer), always with a reason; a "continue" keeps the finding apart until its key (the
  rule and the implicated medicines) changes.
- ``complete_review``: the shared decision with the person and what matters to them; in one
  transaction the review is closed, the care plan gains a new version (a goal with what was agreed, an
  action per decision to act on, and the tasks chosen: a blood test, a review in 4 weeks), each change
  audited. Refused, with the field named, when the input is incomplete; nothing is written then.
The record is opened through governance (care planning) for every change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from careweave.care import services as care
from careweave.governance.access import AccessRefused, Permission, RecordAccess, open_record
from careweave.governance.models import CareTeamMember
from careweave.medicines.findings import finding_key, person_findings
from careweave.medicines.models import Decision, FindingDecision, MedicationReview
from careweave.record import models as rm

REVIEW_IN_WEEKS = 4
BLOOD_TEST_IN_DAYS = 7


class ReviewError(ValueError):
    """The input is incomplete or wrong: ``problems`` maps each field to what to do."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = dict(problems)


def open_review(*, user: Any, person: rm.Person, action: str, audit: bool = True) -> RecordAccess:
    """The person's record opened for the medication review (clinical staff with care planning), and
    only where the user's view of the record includes its medicines (ADR 0021)."""
    opened = open_record(
        user=user,
        person=person,
        action=action,
        resource_type="MedicationReview",
        resource_id=f"medication-review-{person.pk}",
        permission=Permission.CARE_PLANNING,
        audit=audit,
    )
    if not opened.view.shows("medicines"):
        opened.withhold(["medicines"], resource_type="MedicationReview")
        raise AccessRefused("this person's medicines are not shared with your role or organisation")
    return opened


def open_review_of(person: rm.Person) -> MedicationReview | None:
    return MedicationReview.objects.filter(person=person, completed_at=None).order_by("-started_at").first()


def _review_for_update(user: Any, person: rm.Person, as_of: dt.date) -> MedicationReview:
    review = open_review_of(person)
    if review is None:
        review = MedicationReview.objects.create(person=person, started_by=user, as_of=as_of)
    return review


def record_decision(
    *, user: Any, person: rm.Person, key: str, decision: str, reason: str, as_of: dt.date | None = None
) -> FindingDecision:
    access = open_review(user=user, person=person, action="update", audit=False)
    problems: dict[str, str] = {}
    if decision not in Decision.values:
        problems[f"decision-{key}"] = "Choose what to do about this finding"
    if not reason.strip():
        problems[f"reason-{key}"] = "Give the reason for the decision"
    found = person_findings(person, as_of)
    finding = found.by_key(key)
    if finding is None:
        problems[f"decision-{key}"] = "This finding is no longer current: its medicines have changed"
    if problems:
        raise ReviewError(problems)
    assert finding is not None
    with transaction.atomic():
        review = _review_for_update(user, person, found.as_of)
        made = FindingDecision.objects.create(
            review=review,
            person=person,
            finding_key=finding_key(finding),
            rule=finding.rule,
            medicines=[m.as_json() for m in finding.medicines],
            decision=decision,
            reason=reason.strip(),
            decided_by=user,
        )
        access.audit(action="update", resource_type="MedicationReview", resource_id=f"decision-{made.pk}")
    return made


def task_owner(user: Any, person: rm.Person) -> Any:
    """The reviewer owns the tasks when in the person's care team; else the named co-ordinator."""
    team = {m.user_id: m for m in CareTeamMember.objects.filter(person=person)}
    if user.pk in team:
        return user
    coordinator = care.coordinator(person)
    if coordinator is None:
        raise ReviewError(
            {
                "tasks": "Join the person's care team (or name a co-ordinator) so the review's tasks have an owner"
            }
        )
    return coordinator.user


def _medicine_names(decision: FindingDecision) -> str:
    names = [str(m.get("name", "")) for m in decision.medicines if isinstance(m, dict)]
    return ", ".join(sorted(n for n in names if n)) or decision.rule


def complete_review(
    *,
    user: Any,
    person: rm.Person,
    shared_decision: str,
    what_matters: str = "",
    blood_test: str = "",
    review_in_weeks: bool = False,
) -> MedicationReview:
    access = open_review(user=user, person=person, action="update", audit=False)
    review = open_review_of(person)
    problems: dict[str, str] = {}
    if review is None or not review.decisions.exists():
        problems["decisions"] = "Record a decision on at least one finding before completing the review"
    if not shared_decision.strip():
        problems["shared_decision"] = "Say what was agreed with the person"
    if problems:
        raise ReviewError(problems)
    assert review is not None
    owner = task_owner(user, person)
    today = timezone.localdate()
    with transaction.atomic():
        decisions = list(review.decisions.order_by("decided_at", "pk"))
        plan = care.plan_data_from(care.current_care_plan(person))
        goal = care.GoalData(
            f"Medicines: {shared_decision.strip()}"[:500], today + dt.timedelta(weeks=REVIEW_IN_WEEKS)
        )
        actions = [
            care.ActionData(
                f"{d.get_decision_display()}: {_medicine_names(d)} ({d.rule}). {d.reason}"[:500],
                owner,
                today + dt.timedelta(weeks=REVIEW_IN_WEEKS),
            )
            for d in decisions
            if d.decision != Decision.CONTINUE
        ]
        if blood_test.strip():
            actions.append(
                care.ActionData(
                    f"Blood test: {blood_test.strip()}"[:500],
                    owner,
                    today + dt.timedelta(days=BLOOD_TEST_IN_DAYS),
                )
            )
        if review_in_weeks:
            actions.append(
                care.ActionData(
                    f"Medication review follow-up in {REVIEW_IN_WEEKS} weeks",
                    owner,
                    today + dt.timedelta(weeks=REVIEW_IN_WEEKS),
                )
            )
        care.save_care_plan(
            user=user,
            person=person,
            data=replace(plan, goals=(*plan.goals, goal), actions=(*plan.actions, *actions)),
        )
        review.shared_decision = shared_decision.strip()
        review.what_matters = what_matters.strip()
        review.completed_at = timezone.now()
        review.save(update_fields=["shared_decision", "what_matters", "completed_at"])
        access.audit(action="update", resource_type="MedicationReview", resource_id=f"review-{review.pk}")
    return review
