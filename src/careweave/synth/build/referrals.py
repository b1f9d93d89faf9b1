"""Referrals: ServiceRequests to specialties and services, with rejections, re-referrals and long waits."""

from __future__ import annotations

import math
from typing import Any

from careweave.synth.build import journeys
from careweave.synth.build.codes import REFERRAL_CATEGORY, SCT, coded
from careweave.synth.build.contacts import Visit, contact
from careweave.synth.build.context import PersonContext


def add_referrals(p: PersonContext) -> None:
    """Refer for each condition at its specialty's rate, and for social and private care."""
    run, rnd, has, traits, refs = p.run, p.rnd, p.has, p.traits, p.condition_refs
    requester = {"reference": f"Practitioner/{rnd.choice(p.gps)}"}
    rate = float(run.util["referral_per_condition_per_year"])
    years = p.years
    for k, trait in enumerate(run.conditions):
        if traits[k] and rnd.random() < 1 - math.exp(
            -rate * years * (1.5 if trait.specialty.startswith("mental") else 1.0)
        ):
            refer(p, requester, trait.specialty, refs[trait.key], trait.snomed, trait.display)
    if "social_isolation" in has and rnd.random() < 0.5:
        refer(p, requester, "social_prescribing", None)
    if ("housebound" in has or "has_carer" in has) and rnd.random() < 0.3:
        refer(p, requester, "social_services", None)
    if "osteoarthritis" in has and rnd.random() < 0.15:
        refer(p, requester, "private_physiotherapy", refs["osteoarthritis"])


def refer(
    p: PersonContext,
    requester: dict[str, str],
    specialty: str,
    reason: dict[str, str] | None,
    reason_code: str = "",
    reason_display: str = "",
) -> None:
    """Write one referral's ServiceRequests (a rejected one is re-sent), the receiving service's Task
    for each (journeys), and the consultation if seen."""
    run, rnd, end = p.run, p.rnd, p.end
    if specialty not in run.referral_to:
        return
    code, display, sector = run.referral_to[specialty]
    org = p.acute if sector == "acute" else run.sector_org[sector]
    performer = [{"reference": f"Organization/{org.id}"}]
    concept = coded(SCT, code, display)
    day = p.day_in_window()
    previous: str | None = None
    rejected = float(run.util["referral_rejected"]) * (2.0 if sector == "mental-health" else 1.0)
    # A rejected referral is re-sent (replaces) after a few weeks; some bounce more than once.
    for attempt in range(4):
        sid = p.next_id("r")
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": sid,
            "meta": run.meta,
            "status": "active",
            "intent": "order",
            "category": REFERRAL_CATEGORY,
            "priority": "urgent" if rnd.random() < 0.1 else "routine",
            "code": concept,
            "subject": p.subject,
            "authoredOn": run.when(day, rnd.randrange(480, 1080)),
            "requester": requester,
            "performer": performer,
        }
        if reason:
            resource["reasonReference"] = [reason]
        if reason_code:  # the problem referred for, which the loop rule compares
            resource["reasonCode"] = [coded(SCT, reason_code, reason_display)]
        if previous:
            resource["replaces"] = [{"reference": f"ServiceRequest/{previous}"}]
        bounce = day - 7 - int(rnd.expovariate(1 / 21.0))
        if attempt < 3 and bounce > end and rnd.random() < (rejected if attempt == 0 else 0.35):
            resource["status"] = "revoked"
            p.out.add("ServiceRequest", resource)
            journeys.rejected(p, sid, org.id, day, bounce)
            previous, day = sid, bounce
            continue
        wait = 14 + int(rnd.expovariate(1 / 100.0))
        if rnd.random() < float(run.util["referral_long_wait"]):
            wait = 400 + rnd.randint(0, 300)  # stuck on the list for over a year
        seen = day - wait
        if seen > end and org.practitioners:
            resource["status"] = "completed"
            role = next(iter(org.practitioners))
            who = rnd.choice(org.practitioners[role])
            visit = Visit("AMB", "R" if sector != "acute" else "EL", "consultation")
            minute = rnd.randrange(540, 1020, 15)
            contact(
                p, org, who, visit, seen, minute, 30, [reason] if reason else None, book=True, based_on=sid
            )
            journeys.seen(p, sid, org.id, day, seen)
        else:
            journeys.waiting(p, sid, org.id, day)
        p.out.add("ServiceRequest", resource)
        if sector != "acute":
            journeys.ping_pong(p, concept, org.id, sid)
        break
