"""Medicines: repeat MedicationRequests for a condition, each medicine prescribed once per person."""

from __future__ import annotations

from careweave.synth.build.codes import CONTINUOUS
from careweave.synth.build.context import PersonContext
from careweave.synth.parameters import Trait


def prescribe(
    p: PersonContext, trait: Trait, onset: int, reason: dict[str, str], medicines_seen: set[str]
) -> None:
    """Write the medicines drawn for `trait` (diagnosed `onset` days ago) not already prescribed."""
    run, rnd = p.run, p.rnd
    for m in trait.medicines:
        if m.dmd in medicines_seen or rnd.random() >= m.probability:
            continue
        medicines_seen.add(m.dmd)
        p.n_meds += 1
        p.on_statin = p.on_statin or "statin" in m.display
        authored = min(onset, p.end + rnd.randint(0, 56))
        p.out.add(
            "MedicationRequest",
            {
                "resourceType": "MedicationRequest",
                "id": p.next_id("m"),
                "meta": run.meta,
                "status": "stopped" if p.died >= 0 else "active",
                "intent": "order",
                "courseOfTherapyType": CONTINUOUS,
                "medicationCodeableConcept": run.medicine_code[m.dmd],
                "subject": p.subject,
                "authoredOn": run.day(authored),
                "requester": {"reference": f"Practitioner/{rnd.choice(p.gps)}"},
                "reasonReference": [reason],
                "dosageInstruction": [{"text": m.dose}],
            },
        )
