"""Conditions: an active problem-list Condition per long-term condition, with its medicines, and the
diagnoses that count nowhere or no longer count (refuted, entered in error, resolved)."""

from __future__ import annotations

from typing import Any

from careweave.synth.build.codes import CLINICAL_ACTIVE, PROBLEM_LIST, SCT, VERIFIED, coded
from careweave.synth.build.context import PersonContext
from careweave.synth.build.medicines import add_hazards, prescribe

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
RESOLVED = coded(CLINICAL, "resolved")
REFUTED = coded(VERIFICATION, "refuted")
ENTERED_IN_ERROR = coded(VERIFICATION, "entered-in-error")


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
    add_hazards(p)
    add_history(p)


def _condition(p: PersonContext, code: dict[str, Any], day: int, **status: Any) -> None:
    p.out.add(
        "Condition",
        {
            "resourceType": "Condition",
            "id": p.next_id("c"),
            "meta": p.run.meta,
            **status,
            "category": PROBLEM_LIST,
            "code": code,
            "subject": p.subject,
            "onsetDateTime": p.run.day(day),
            "recordedDate": p.run.day(day),
        },
    )


def add_history(p: PersonContext) -> None:
    """Refuted and entered-in-error diagnoses of conditions the person does not have, and resolvable
    conditions they once had that a later resolved code ended (exclusions.yaml)."""
    run, rnd, has = p.run, p.rnd, p.has
    history = run.history
    if p.start <= p.end + 60:
        return
    candidates = [k for k in history["refuted_from"] if k not in has]
    draw = rnd.random() * 100
    if candidates and draw < float(history["refuted_percent"]) + float(history["entered_in_error_percent"]):
        key = rnd.choice(candidates)
        status = REFUTED if draw < float(history["refuted_percent"]) else ENTERED_IN_ERROR
        day = rnd.randint(p.end + 30, p.start)
        _condition(
            p,
            run.condition_code[run.keys[key]],
            day,
            # R4 con-5: an entered-in-error condition has no clinicalStatus
            **({"clinicalStatus": CLINICAL_ACTIVE} if status is REFUTED else {}),
            verificationStatus=status,
        )
        p.excluded_history.append(f"{status['coding'][0]['code']}:{key}")
    for key, entry in history["resolved"].items():
        if key in has or p.age < int(entry["min_age"]) or rnd.random() * 100 >= float(entry["percent"]):
            continue
        # Diagnosed years ago (left active, as GP systems often leave it), then a resolved code.
        diagnosed = rnd.randint(
            p.end + 400, max(p.end + 400, min(p.birth - 365 * int(entry["min_age"]) // 2, 365 * 15))
        )
        resolved = rnd.randint(p.end + 30, max(p.end + 30, diagnosed - 180))
        _condition(
            p,
            run.condition_code[run.keys[key]],
            diagnosed,
            clinicalStatus=CLINICAL_ACTIVE,
            verificationStatus=VERIFIED,
        )
        _condition(
            p,
            coded(SCT, str(entry["code"]), str(entry["display"])),
            resolved,
            clinicalStatus=RESOLVED,
            verificationStatus=VERIFIED,
        )
        p.excluded_history.append(f"resolved:{key}")
