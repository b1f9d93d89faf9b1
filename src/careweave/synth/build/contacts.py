"""Contacts: Encounters and Appointments across general practice, hospital, community, mental
health, social care and pharmacy, including missed and future appointments."""

from __future__ import annotations

from typing import Any, NamedTuple

from careweave.synth.build.codes import CLASS, ENCOUNTER_TYPE, PRIORITY
from careweave.synth.build.context import PersonContext
from careweave.synth.organisations import Organisation


class Visit(NamedTuple):
    """How an Encounter is coded: its class, priority and type."""

    cls: str
    priority: str
    kind: str


AE = Visit("EMER", "EM", "emergency")
EMERGENCY_ADMISSION = Visit("IMP", "EM", "emergency_admission")
ELECTIVE_ADMISSION = Visit("IMP", "EL", "elective_admission")
HOME_VISIT = Visit("HH", "R", "home_visit")
REVIEW = Visit("AMB", "R", "review")
MEDICATION_REVIEW = Visit("AMB", "R", "medication_review")


def add_contacts(p: PersonContext, n_gp: int, n_ae: int, n_elective: int) -> None:
    """Write the person's contacts; the counts by setting were drawn for the whole chunk."""
    add_general_practice(p, n_gp)
    add_hospital(p, n_ae, n_elective)
    add_other_services(p)


def add_general_practice(p: PersonContext, n_gp: int) -> None:
    run, rnd, decile, gps = p.run, p.rnd, p.decile, p.gps
    util = run.util
    housebound = "housebound" in p.has
    n_cond = len(p.condition_refs)
    unplanned_share = min(
        0.85,
        float(util["unplanned_gp_share"])
        * (1 + float(util["deprivation_unplanned_per_decile"]) * (5.5 - decile))
        * (1 + 0.04 * n_cond),
    )
    dna_rate = float(util["dna_rate"]) * (1 + 0.08 * (5.5 - decile))
    nurses = p.practice.practitioners.get("practice_nurse", gps)
    cond_list = list(p.condition_refs.values())
    slot = 20 if n_cond >= 3 else (15 if n_cond else 10)
    for _ in range(n_gp):
        day = p.day_in_window()
        unplanned = rnd.random() < unplanned_share
        cls = "HH" if housebound and rnd.random() < 0.4 else ("VR" if rnd.random() < 0.35 else "AMB")
        who = rnd.choice(gps) if unplanned or rnd.random() < 0.6 else rnd.choice(nurses)
        minute = rnd.randrange(480, 1080, 10)
        kind = "home_visit" if cls == "HH" else ("problem" if unplanned else "review")
        reason = [rnd.choice(cond_list)] if (cond_list and not unplanned) else None
        visit = Visit(cls, "UR" if unplanned else "R", kind)
        contact(p, p.practice, who, visit, day, minute, slot, reason, book=True)
        if rnd.random() < dna_rate and not unplanned:
            appointment(p, who, "noshow", p.day_in_window(), rnd.randrange(480, 1080, 10), slot)
    if p.died < 0 and n_cond and rnd.random() < 0.6:
        # A review already booked in the coming weeks.
        appointment(p, rnd.choice(nurses), "booked", -rnd.randint(1, 60), rnd.randrange(480, 1080, 10), slot)


def add_hospital(p: PersonContext, n_ae: int, n_elective: int) -> None:
    rnd, acute, end = p.rnd, p.acute, p.end
    n_cond = len(p.condition_refs)
    consultants = acute.practitioners["consultant"]
    admission_share = float(p.run.util["admission_share_of_ae"])
    for _ in range(n_ae):
        day = p.day_in_window()
        minute = rnd.randrange(0, 1440)
        contact(p, acute, rnd.choice(consultants), AE, day, minute, rnd.randint(60, 480), None)
        if rnd.random() < admission_share * (1 + 0.1 * n_cond):
            stay = max(1, int(rnd.expovariate(1 / (3.0 + 0.5 * n_cond))))
            until = max(end, day - stay)
            who = rnd.choice(consultants)
            contact(p, acute, who, EMERGENCY_ADMISSION, day, minute, stay * 1440, None, until=until)
    for _ in range(n_elective):
        day = p.day_in_window()
        stay = rnd.randint(0, 3)
        minutes = max(stay, 1) * 1440 if stay else 480
        who = rnd.choice(consultants)
        contact(p, acute, who, ELECTIVE_ADMISSION, day, 480, minutes, None, until=max(end, day - stay))


def add_other_services(p: PersonContext) -> None:
    """Community nursing, mental health, social care and pharmacy, for those who need them."""
    run, rnd, has, age, years = p.run, p.rnd, p.has, p.age, p.years
    economy = run.economy
    cond_list = list(p.condition_refs.values())
    if "housebound" in has or ("heart_failure" in has and age >= 75):
        community = economy.community
        for _ in range(int(rnd.uniform(2, 8) * years)):
            who = rnd.choice(community.practitioners["community_nurse"])
            day, minute = p.day_in_window(), rnd.randrange(480, 1020, 15)
            contact(p, community, who, HOME_VISIT, day, minute, 30, cond_list[:1] or None, book=True)
    if "schizophrenia" in has or "bipolar_disorder" in has:
        mh = economy.mental_health
        for _ in range(int(rnd.uniform(2, 6) * years)):
            who = rnd.choice(mh.practitioners["mental_health_nurse"])
            day, minute = p.day_in_window(), rnd.randrange(540, 1020, 15)
            contact(p, mh, who, REVIEW, day, minute, 45, cond_list[-1:], book=True)
    if "social_care_package" in has:
        la = economy.social_care
        for _ in range(max(1, int(years))):
            who = rnd.choice(la.practitioners["social_worker"])
            day, minute = p.day_in_window(), rnd.randrange(540, 960, 30)
            contact(p, la, who, HOME_VISIT, day, minute, 60, None, book=True)
    if p.n_meds >= 4 and rnd.random() < 0.7:
        pharmacy = economy.pharmacies[p.practice_index % len(economy.pharmacies)]
        who = pharmacy.practitioners["pharmacist"][0]
        day, minute = p.day_in_window(), rnd.randrange(540, 1020, 15)
        contact(p, pharmacy, who, MEDICATION_REVIEW, day, minute, 20, None)


def appointment(p: PersonContext, practitioner: str, status: str, day: int, minute: int, length: int) -> str:
    """Write an Appointment and return its id."""
    when = p.run.when
    aid = p.next_id("a")
    p.out.add(
        "Appointment",
        {
            "resourceType": "Appointment",
            "id": aid,
            "meta": p.run.meta,
            "status": status,
            "start": when(day, minute),
            "end": when(day, minute + length) if minute + length < 1440 else when(day, 1439),
            "minutesDuration": length,
            "participant": [
                {"actor": p.subject, "status": "accepted"},
                {"actor": {"reference": f"Practitioner/{practitioner}"}, "status": "accepted"},
            ],
        },
    )
    return aid


def contact(
    p: PersonContext,
    org: Organisation,
    practitioner: str,
    visit: Visit,
    day: int,
    minute: int,
    minutes: int,
    reason: list[dict[str, str]] | None,
    *,
    book: bool = False,
    until: int | None = None,
    based_on: str | None = None,
) -> None:
    """Write an Encounter `minutes` long (or lasting `until` a day), booked as an Appointment if `book`."""
    when = p.run.when
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": p.next_id("e"),
        "meta": p.run.meta,
        "status": "finished",
        "class": CLASS[visit.cls],
        "priority": PRIORITY[visit.priority],
        "type": ENCOUNTER_TYPE[visit.kind],
        "subject": p.subject,
        "participant": [{"individual": {"reference": f"Practitioner/{practitioner}"}}],
        "serviceProvider": {"reference": f"Organization/{org.id}"},
    }
    if until is not None:
        encounter["period"] = {"start": when(day, minute), "end": when(until, min(1439, minute + 120))}
    else:
        finish = minute + minutes
        encounter["period"] = {
            "start": when(day, minute),
            "end": when(day - finish // 1440, finish % 1440) if day - finish // 1440 >= 0 else when(0, 1439),
        }
    if book:
        aid = appointment(p, practitioner, "fulfilled", day, minute, minutes)
        encounter["appointment"] = [{"reference": f"Appointment/{aid}"}]
    if reason:
        encounter["reasonReference"] = reason
    if based_on:
        encounter["basedOn"] = [{"reference": f"ServiceRequest/{based_on}"}]
    p.out.add("Encounter", encounter)
