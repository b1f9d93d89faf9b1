"""The care co-ordinator's referrals worklist (issue 15): the people in the user's care whom the
referral scan flags, ranked by harm, each finding said in plain words with what to do next.

Harm is scored as the reviewed ``worklist_ranking`` of ``referral_rules.yaml`` weighs it: points for
the finding, for each week waited beyond the 18-week referral-to-treatment standard, for the
person's eFI frailty category and for their unplanned care in the last 12 months, both from the
current segmentation run. Every part of the score is shown beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from careweave.population.referrals import Finding
from careweave.record import models as rm
from careweave.referrals.models import ReferralTask
from careweave.referrals.services import ANSWER_SYSTEM
from careweave.segmentation.models import PersonSegment, SegmentationRun
from careweave.terminology.referrals import ReferralRules, load_referral_rules
from careweave.ui.format import format_date, format_nhs_number

#: a referral's business state in plain words
STATE_WORDS = {
    "requested": "sent, not yet acknowledged",
    "received": "received by the service",
    "accepted": "accepted by the service",
    "rejected": "turned down by the service",
    "in-progress": "being seen",
    "completed": "finished",
    "cancelled": "cancelled",
}
FINDING_TITLES = {
    "loop": "Referral loop",
    "lost": "Lost on a waiting list",
    "no-outcome": "No outcome letter",
    "validation-due": "Waiting-list check due",
}


@dataclass(frozen=True)
class Part:
    points: int
    reason: str


@dataclass
class FindingRow:
    finding: str
    title: str
    what_happened: str
    next_step: str
    explanation: str  # the scan's own explanation, with dates, thresholds and the citation
    referral_pk: int | None  # the referral the actions apply to (the latest one of the finding)
    points: int
    weeks_beyond: int


@dataclass
class PersonRow:
    person_pk: int
    name: str
    nhs_number: str
    harm: int = 0
    parts: list[Part] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)


def service_name(organisation: rm.Organisation | None) -> str:
    return organisation.name if organisation is not None and organisation.name else "an unnamed service"


def latest_states(referral_pks: Iterable[int]) -> dict[int, ReferralTask]:
    """The fulfilment Task that says where each referral has got to (the latest by its own date)."""
    latest: dict[int, ReferralTask] = {}
    tasks = ReferralTask.objects.filter(referral_id__in=list(referral_pks), is_validation=False).exclude(
        business_status=""
    )
    for task in tasks.order_by("last_modified", "pk"):
        assert task.referral_id is not None
        latest[task.referral_id] = task
    return latest


def answer_of(task: ReferralTask) -> str:
    """The person's answer a validation Task records (still-needed, no-longer-needed), or ''."""
    try:
        body = orjson.loads(task.resource.body or "{}")
    except orjson.JSONDecodeError:
        return ""
    for output in body.get("output") or [] if isinstance(body, dict) else []:
        for coding in ((output or {}).get("valueCodeableConcept") or {}).get("coding") or []:
            if coding.get("system") == ANSWER_SYSTEM:
                return str(coding.get("code") or "")
    return ""


def no_longer_needed(referral_pks: Iterable[int]) -> dict[int, ReferralTask]:
    """The referrals whose latest check with the person found they no longer need them."""
    latest: dict[int, ReferralTask] = {}
    checks = ReferralTask.objects.filter(referral_id__in=list(referral_pks), is_validation=True)
    for task in checks.select_related("resource").order_by("last_modified", "pk"):
        assert task.referral_id is not None
        latest[task.referral_id] = task
    return {pk: t for pk, t in latest.items() if answer_of(t) == "no-longer-needed"}


def state_text(task: ReferralTask | None, referral: rm.Referral) -> str:
    if task is None:
        return (
            "sent, no reply recorded" if referral.status not in ("completed", "revoked") else referral.status
        )
    words = STATE_WORDS.get(task.business_status, task.business_status)
    if task.business_status == "rejected" and task.status_reason_display:
        words += f" ({task.status_reason_display[:1].lower()}{task.status_reason_display[1:]})"
    return words


def _weeks(weeks: int | None) -> str:
    return f"{weeks} week{'s' if weeks != 1 else ''}" if weeks is not None else "an unknown time"


def _what_happened(
    finding: Finding, referrals: Sequence[rm.Referral], states: dict[int, ReferralTask]
) -> str:
    current = referrals[-1] if referrals else None
    if current is None:
        return finding.explanation
    to = service_name(current.to_organisation)
    sent = format_date(current.authored_on)
    waited = _weeks(finding.weeks_waiting)
    state = state_text(states.get(current.pk), current)
    if finding.rule == "reason":
        services = ", then ".join(
            f"{service_name(r.to_organisation)} ({state_text(states.get(r.pk), r)})" for r in referrals
        )
        return f"Referred {len(referrals)} times for the same problem within a year: {services}."
    if finding.rule == "ping-pong":
        names = list(dict.fromkeys(service_name(r.to_organisation) for r in referrals))
        return f"Passed back and forth between {' and '.join(names)} ({len(referrals)} referrals)."
    texts = {
        "unbooked": f"Referred to {to} on {sent} and {state}, but no first appointment after {waited}.",
        "unacknowledged": f"Referred to {to} on {sent}; the service has not acknowledged it after {waited}.",
        "did-not-attend": f"Referred to {to} on {sent}; missed the first appointment and it was not rebooked.",
        "no-letter": f"Seen by {to} (referred on {sent}) and discharged, but no outcome letter came back.",
        "milestone": f"Waiting {waited} for {to} (referred on {sent}); nobody has checked with the person "
        "that they still need it.",
    }
    return texts.get(finding.rule, finding.explanation)


def _weeks_beyond(finding: Finding, rules: ReferralRules) -> int:
    if finding.weeks_waiting is None:
        return 0
    return max(0, finding.weeks_waiting - rules.default_wait_days // 7)


def _person_parts(segment: PersonSegment | None, rules: ReferralRules) -> list[Part]:
    if segment is None:
        return []
    ranking = rules.ranking
    parts = []
    frailty = ranking.frailty_points.get(segment.efi_category, 0)
    if frailty:
        parts.append(Part(frailty, f"{segment.efi_category} frailty (eFI)"))
    contacts = segment.unplanned_contacts_12m
    unplanned = min(ranking.max_unplanned_points, contacts * ranking.points_per_unplanned_contact)
    if unplanned:
        times = "time" if contacts == 1 else "times"
        parts.append(Part(unplanned, f"unplanned care {contacts} {times} in the last 12 months"))
    return parts


def worklist_rows(findings: Sequence[Finding], run: SegmentationRun | None) -> list[PersonRow]:
    """One row per person with findings, highest harm first (ties by name)."""
    rules = load_referral_rules()
    ranking = rules.ranking
    logical_ids = {rid for f in findings for rid in f.referrals}
    referrals = {
        r.resource.logical_id: r
        for r in rm.Referral.objects.filter(resource__logical_id__in=logical_ids).select_related(
            "resource", "to_organisation"
        )
    }
    states = latest_states(r.pk for r in referrals.values())
    declined = no_longer_needed(r.pk for r in referrals.values())
    people = rm.Person.objects.in_bulk({f.person_id for f in findings})
    segments: dict[int, PersonSegment] = {}
    if run is not None:
        segments = {s.person_id: s for s in PersonSegment.objects.filter(run=run, person_id__in=list(people))}
    rows: dict[int, PersonRow] = {}
    for finding in findings:
        person = people.get(finding.person_id)
        if person is None:
            continue
        row = rows.get(person.pk)
        if row is None:
            row = rows[person.pk] = PersonRow(
                person.pk, person.display_name, format_nhs_number(person.nhs_number)
            )
        involved = [referrals[r] for r in finding.referrals if r in referrals]
        beyond = _weeks_beyond(finding, rules)
        what, step = _what_happened(finding, involved, states), rules.next_steps.get(finding.rule, "")
        check = declined.get(involved[-1].pk) if involved else None
        if check is not None:
            what += (
                f" On {format_date(check.last_modified)} the person said they no longer need it, and the "
                "service was asked to take them off its list."
            )
            step = "Chase the service if it has not closed the referral."
        points = ranking.finding_points.get(finding.finding, 0) + min(
            ranking.max_week_points, beyond * ranking.points_per_week_beyond
        )
        row.findings.append(
            FindingRow(
                finding=finding.finding,
                title=FINDING_TITLES.get(finding.finding, finding.finding),
                what_happened=what,
                next_step=step,
                explanation=finding.explanation,
                referral_pk=involved[-1].pk if involved else None,
                points=points,
                weeks_beyond=beyond,
            )
        )
    for row in rows.values():
        row.findings.sort(key=lambda f: -f.points)
        worst = row.findings[0]
        row.parts = [
            Part(
                worst.points,
                f"{worst.title.lower()}"
                + (f", {worst.weeks_beyond} weeks beyond the 18-week standard" if worst.weeks_beyond else ""),
            )
        ]
        row.parts += _person_parts(segments.get(row.person_pk), rules)
        row.harm = sum(p.points for p in row.parts)
    return sorted(rows.values(), key=lambda r: (-r.harm, r.name))


def referral_choices(exclude: rm.Organisation | None) -> list[dict[str, Any]]:
    """The services a person may be re-referred to: every organisation but the one that has it."""
    organisations = rm.Organisation.objects.exclude(name="").order_by("name", "pk")
    if exclude is not None:
        organisations = organisations.exclude(pk=exclude.pk)
    return [{"value": str(o.pk), "text": o.name} for o in organisations[:500]]
