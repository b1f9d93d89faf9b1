"""Medicines: repeat templates with their issue history, and the hazardous combinations.

Each medicine a person takes is a repeat template (MedicationRequest, intent ``order``,
courseOfTherapyType continuous, authored when it was started) and one MedicationRequest per issue
(intent ``instance-order``, ``basedOn`` the template) every 28-56 days over the issue history, as GP
systems record a repeat and its issues. The first issue of a template started inside the history is
on the day it was authored, so the template adds no issue date of its own.
"""

from __future__ import annotations

from typing import Any

from careweave.synth.build.codes import CONTINUOUS, DMD
from careweave.synth.build.context import PersonContext
from careweave.synth.parameters import Trait


def prescribe(
    p: PersonContext, trait: Trait, onset: int, reason: dict[str, str], medicines_seen: set[str]
) -> None:
    """Write the medicines drawn for `trait` (diagnosed `onset` days ago) not already prescribed."""
    rnd = p.rnd
    for m in trait.medicines:
        if m.dmd in medicines_seen or rnd.random() >= m.probability:
            continue
        medicines_seen.add(m.dmd)
        # The current authorisation: at diagnosis, or re-authorised at a review in the last 3 years.
        authored = max(p.end, min(onset, p.end + rnd.randint(28, 3 * 365)))
        repeat(p, m.dmd, m.display, m.dose, authored, reason)


def repeat(
    p: PersonContext, dmd: str, display: str, dose: str, authored: int, reason: dict[str, str] | None
) -> None:
    """One repeat template authored `authored` days ago and its issues up to the end of the record."""
    run, rnd = p.run, p.rnd
    rx = run.prescribing
    p.n_meds += 1
    p.medicines.append(display.lower())
    p.on_statin = p.on_statin or "statin" in display
    code = run.medicine(dmd, display)
    requester = {"reference": f"Practitioner/{rnd.choice(p.gps)}"}
    stopped = p.died < 0 and rnd.random() * 100 < float(rx["stopped_percent"])
    last = p.end
    if stopped:
        last = rnd.randint(p.end, max(p.end, min(authored, int(rx["issue_history_days"]))))
    template_id = p.next_id("m")
    template: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": template_id,
        "meta": run.meta,
        "status": "stopped" if p.died >= 0 or stopped else "active",
        "intent": "order",
        "courseOfTherapyType": CONTINUOUS,
        "medicationCodeableConcept": code,
        "subject": p.subject,
        "authoredOn": run.day(authored),
        "requester": requester,
        "dosageInstruction": [{"text": dose}],
    }
    if reason:
        template["reasonReference"] = [reason]
    p.out.add("MedicationRequest", template)
    based_on = [{"reference": f"MedicationRequest/{template_id}"}]
    low, high = (int(v) for v in rx["issue_interval_days"])
    history = int(rx["issue_history_days"])
    day = authored if authored <= history else history - rnd.randint(0, high)
    while day >= last:
        p.out.add(
            "MedicationRequest",
            {
                "resourceType": "MedicationRequest",
                "id": p.next_id("m"),
                "meta": run.meta,
                "status": "completed",
                "intent": "instance-order",
                "courseOfTherapyType": CONTINUOUS,
                "medicationCodeableConcept": code,
                "subject": p.subject,
                "authoredOn": run.day(day),
                "requester": requester,
                "basedOn": based_on,
                "dosageInstruction": [{"text": dose}],
            },
        )
        p.issues += 1
        day -= rnd.randint(low, high)


def add_hazards(p: PersonContext) -> None:
    """The hazardous combinations of the data file, each for its share of the people it can affect."""
    run, rnd = p.run, p.rnd
    for name, hazard in run.hazards.items():
        on = [m for m in p.medicines if any(i in m for i in hazard["when_on"])]
        if not on or rnd.random() * 100 >= float(hazard["percent"]):
            continue
        p.hazards.append(name)
        if name == "methotrexate_low_egfr":
            p.low_egfr = True
            continue
        taken = set(on)
        choices = [m for m in hazard["add"] if m["display"].lower() not in taken]
        if name == "duplicate_statin_strength":
            # the same statin at another strength
            choices = [m for m in choices if any(m["display"].lower().split()[0] in t for t in taken)]
        if not choices:
            p.hazards.pop()
            continue
        m = rnd.choice(choices)
        authored = rnd.randint(p.end + 14, max(p.end + 14, int(run.prescribing["issue_history_days"])))
        repeat(p, str(m["dmd"]), str(m["display"]), str(m["dose"]), authored, None)


def medicine_code(dmd: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": DMD, "code": dmd, "display": display}]}
