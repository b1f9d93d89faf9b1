"""Referral journeys (issue 15): the receiving service's FHIR Task for each synthetic referral, as the
HL7 BSeR guide has it (received -> accepted | rejected -> in-progress -> completed), first
appointments whose `basedOn` names the referral (some not attended, some never rebooked), outcome
letters back (some never sent), and ping-pong between the practice and a service.

Rates are the `referral_*` parameters of `utilisation` in synth/data/population.yaml. Each journey
draws from its own generator seeded by the referral's id, so adding journeys leaves every other draw
of the person (and so the rest of the population) as it was.
"""

from __future__ import annotations

import random
from typing import Any

from careweave.synth.build.codes import REFERRAL_CATEGORY
from careweave.synth.build.context import PersonContext

BUSINESS = "https://fhir.careweave.org/CodeSystem/referral-business-status"
REJECTION = "https://fhir.careweave.org/CodeSystem/referral-rejection-reason"
REASONS = (
    ("does-not-meet-criteria", "Does not meet the service's criteria"),
    ("refer-elsewhere", "Redirected to another service"),
    ("insufficient-information", "Returned for more information"),
)
RETURNED = {
    1: ("refer-elsewhere", "Redirected to another service"),
    2: ("returned-to-referrer", "Returned to the referrer"),
}
TASK_STATUS = {
    "rejected": "rejected",
    "completed": "completed",
    "requested": "requested",
    "received": "received",
    "accepted": "accepted",
}


def _rate(p: PersonContext, name: str) -> float:
    return float(p.run.util[name])


def _rng(p: PersonContext, sid: str) -> random.Random:
    return random.Random(f"{p.pid}:{sid}")  # a string seed: the same on every run and platform


def _later(day: int, rnd: random.Random, low: int, high: int, end: int) -> int:
    """A day `low`..`high` days after `day` (days count back), not after the last day of activity."""
    return max(end, day - rnd.randint(low, high))


def _task(
    p: PersonContext,
    sid: str,
    owner: str,
    steps: list[tuple[str, int]],
    reason: tuple[str, str] | None = None,
) -> None:
    """Every version of the service's Task, one per step, in order (the history a sender's feed carries;
    the record keeps each state for the referral's timeline)."""
    for state, day in steps:
        task: dict[str, Any] = {
            "resourceType": "Task",
            "id": f"{sid}-task",
            "meta": p.run.meta,
            "status": TASK_STATUS.get(state, "in-progress"),
            "businessStatus": {"coding": [{"system": BUSINESS, "code": state}]},
            "intent": "order",
            "focus": {"reference": f"ServiceRequest/{sid}"},
            "for": p.subject,
            "owner": {"reference": f"Organization/{owner}"},
            "authoredOn": p.run.when(steps[0][1], 600),
            "lastModified": p.run.when(day, 660),
        }
        if reason is not None and state == "rejected":
            task["statusReason"] = {
                "coding": [{"system": REJECTION, "code": reason[0], "display": reason[1]}]
            }
        p.out.add("Task", task)


def _appointment(p: PersonContext, sid: str, suffix: str, status: str, day: int) -> None:
    p.out.add(
        "Appointment",
        {
            "resourceType": "Appointment",
            "id": f"{sid}-{suffix}",
            "meta": p.run.meta,
            "status": status,
            "basedOn": [{"reference": f"ServiceRequest/{sid}"}],
            "start": p.run.when(day, 600),
            "end": p.run.when(day, 630),
            "minutesDuration": 30,
            "participant": [{"actor": p.subject, "status": "accepted"}],
        },
    )


def _letter(p: PersonContext, sid: str, day: int) -> None:
    p.out.add(
        "DocumentReference",
        {
            "resourceType": "DocumentReference",
            "id": f"{sid}-letter",
            "meta": p.run.meta,
            "status": "current",
            "type": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "371531000",
                        "display": "Report of clinical encounter",
                    }
                ]
            },
            "subject": p.subject,
            "date": p.run.when(day, 720),
            "content": [{"attachment": {"contentType": "text/plain", "title": "Clinic letter"}}],
            "context": {"related": [{"reference": f"ServiceRequest/{sid}"}]},
        },
    )


def rejected(p: PersonContext, sid: str, owner: str, day: int, resent: int) -> None:
    """Turned down (and re-sent on `resent`): received, then rejected with a coded reason."""
    rnd = _rng(p, sid)
    if rnd.random() >= _rate(p, "referral_tasks_sent"):
        return
    received = _later(day, rnd, 0, 3, resent + 1)
    _task(
        p,
        sid,
        owner,
        [("received", received), ("rejected", _later(received, rnd, 1, 5, resent + 1))],
        rnd.choice(REASONS),
    )


def seen(p: PersonContext, sid: str, owner: str, day: int, seen_day: int) -> None:
    """Accepted and seen on `seen_day`, then discharged back with a letter (or, sometimes, none); a
    first appointment missed is rebooked."""
    rnd = _rng(p, sid)
    if rnd.random() >= _rate(p, "referral_tasks_sent"):
        return
    received = _later(day, rnd, 0, 3, seen_day)
    accepted = _later(received, rnd, 1, 10, seen_day)
    if rnd.random() < _rate(p, "referral_first_dna") and accepted - seen_day > 30:
        _appointment(p, sid, "dna", "noshow", seen_day + 21)
    _appointment(p, sid, "first", "fulfilled", seen_day)
    completed = _later(seen_day, rnd, 0, 14, p.end)
    _task(
        p,
        sid,
        owner,
        [("received", received), ("accepted", accepted), ("in-progress", seen_day), ("completed", completed)],
    )
    if rnd.random() >= _rate(p, "referral_no_letter"):
        _letter(p, sid, _later(completed, rnd, 1, 10, p.end))


def waiting(p: PersonContext, sid: str, owner: str, day: int) -> None:
    """Still waiting at the end of the history: never acknowledged, received, or accepted and waiting
    (lost after acceptance when the wait is long); some missed their first appointment and were
    never rebooked."""
    rnd = _rng(p, sid)
    if rnd.random() >= _rate(p, "referral_tasks_sent"):
        return
    if rnd.random() < _rate(p, "referral_unacknowledged"):
        _task(p, sid, owner, [("requested", day)])
        return
    received = _later(day, rnd, 0, 3, p.end)
    accepted = _later(received, rnd, 1, 10, p.end)
    if accepted <= p.end:
        _task(p, sid, owner, [("received", received)])
        return
    _task(p, sid, owner, [("received", received), ("accepted", accepted)])
    first = accepted - rnd.randint(14, 120)
    if first > p.end and rnd.random() < _rate(p, "referral_first_dna") * 3:
        _appointment(p, sid, "dna", "noshow", first)
        if rnd.random() >= _rate(p, "referral_dna_not_rebooked"):
            _appointment(p, sid, "rebooked", "booked", max(0, first - rnd.randint(7, 28)))


def ping_pong(p: PersonContext, concept: dict[str, Any], owner: str, sid: str) -> None:
    """The practice refers to a service, the service returns the person to the practice, the practice
    refers again: three referrals between two services within months."""
    rnd = _rng(p, f"{sid}-pp")
    if rnd.random() >= _rate(p, "referral_ping_pong"):
        return
    practice = p.practice_ref["reference"].split("/", 1)[1]
    if p.start - p.end < 140:
        return
    start = rnd.randint(p.end + 130, p.start)
    legs = [(practice, owner, start), (owner, practice, start - 40), (practice, owner, start - 90)]
    for n, (sender, receiver, day) in enumerate(legs, start=1):
        lid = f"{sid}-pp{n}"
        p.out.add(
            "ServiceRequest",
            {
                "resourceType": "ServiceRequest",
                "id": lid,
                "meta": p.run.meta,
                "status": "active",
                "intent": "order",
                "category": REFERRAL_CATEGORY,
                "code": concept,
                "subject": p.subject,
                "authoredOn": p.run.when(day, 600),
                "requester": {"reference": f"Organization/{sender}"},
                "performer": [{"reference": f"Organization/{receiver}"}],
            },
        )
        if n in RETURNED:  # the first two legs are sent back: redirected, then returned to the practice
            _task(
                p, lid, receiver, [("received", day - 2), ("rejected", day - 15 - 5 * (n == 1))], RETURNED[n]
            )
        else:
            _task(p, lid, receiver, [("received", max(p.end, day - 2))])
