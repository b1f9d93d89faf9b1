"""Conditions: one active problem-list Condition per long-term condition the person has, with its medicines."""

from __future__ import annotations

from careweave.synth.build.codes import CLINICAL_ACTIVE, PROBLEM_LIST, VERIFIED
from careweave.synth.build.context import PersonContext
from careweave.synth.build.medicines import prescribe


def add_conditions(p: PersonContext) -> None:
    """Write the Conditions; each is followed by its medicines (the draws interleave)."""
    run, rnd, traits, end, birth = p.run, p.rnd, p.traits, p.end, p.birth
    medicines_seen: set[str] = set()
    for k, trait in enumerate(run.conditions):
        if not traits[k]:
            continue
        cid = p.next_id("c")
        years_since = rnd.expovariate(1 / 8.0)
        onset = int(min(max(birth - 365, end + 30), max(end + 30, years_since * 365)))
        onset = min(onset, birth)
        onset_day = run.day(onset)
        p.out.add(
            "Condition",
            {
                "resourceType": "Condition",
                "id": cid,
                "meta": run.meta,
                "clinicalStatus": CLINICAL_ACTIVE,
                "verificationStatus": VERIFIED,
                "category": PROBLEM_LIST,
                "code": run.condition_code[k],
                "subject": p.subject,
                "onsetDateTime": onset_day,
                "recordedDate": onset_day,
            },
        )
        ref = {"reference": f"Condition/{cid}"}
        p.condition_refs[trait.key] = ref
        prescribe(p, trait, onset, ref, medicines_seen)
