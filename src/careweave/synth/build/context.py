"""What the build steps read: the run's shared lookups (`RunContext`) and one person's state (`PersonContext`).

A person's steps run in a fixed order (patient, conditions and medicines, social, monitoring, contacts,
referrals) and draw from one `random.Random` seeded from (seed, person index), so the order of draws,
and of the ids `next_id` hands out, is part of the output: reorder nothing without expecting new files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from careweave.synth.build.batch import Batch
from careweave.synth.build.codes import DMD, LOINC, SCT, TIMES
from careweave.synth.cohort import Cohort
from careweave.synth.organisations import Economy, Organisation, Practice
from careweave.synth.parameters import Parameters


class RunContext:
    """Lookups shared by every person of a run: parameters, organisations, codes and dates."""

    def __init__(self, *, params: Parameters, economy: Economy, seed: int, reference_date: date) -> None:
        self.params = params
        self.economy = economy
        self.seed = seed
        self.meta = {"source": f"urn:careweave:synth:{seed}"}
        self.ref_ordinal = reference_date.toordinal()
        self.reference_date = reference_date
        self._dates: dict[int, str] = {}
        self.conditions = params.conditions
        self.social = params.social
        self.n_conditions = len(params.conditions)
        self.keys = {t.key: i for i, t in enumerate(params.traits)}
        self.util = params.utilisation
        self.mon = params.monitoring
        self.history_days = int(self.util["history_years"]) * 365
        self.practice_refs = [{"reference": f"Organization/{p.id}"} for p in economy.practices]
        self.referral_to = params.referrals
        self.sector_org: dict[str, Organisation] = {
            "community": economy.community,
            "mental-health": economy.mental_health,
            "social-care": economy.social_care,
            "voluntary": economy.voluntary,
            "private": economy.private,
        }
        self.condition_code = [
            {"coding": [{"system": SCT, "code": t.snomed, "display": t.display}]} for t in params.conditions
        ]
        self.social_code = [
            {"coding": [{"system": SCT, "code": t.snomed, "display": t.display}]} for t in params.social
        ]
        self.medicine_code: dict[str, dict[str, Any]] = {}
        self.prescribing = params.prescribing
        self.hazards = {k: v for k, v in params.hazards.items() if k not in ("sources", "note")}
        self.history = params.history
        self.findings = params.findings
        self.finding_code = [
            {"coding": [{"system": SCT, "code": t.snomed, "display": t.display}]} for t in params.findings
        ]
        self.observation_code = {
            k: {"coding": [{"system": LOINC, "code": str(v["loinc"]), "display": str(v["display"])}]}
            for k, v in self.mon.items()
            if isinstance(v, dict) and "loinc" in v
        }
        self.bp_components = (
            {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
            {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
        )

    def medicine(self, dmd: str, display: str) -> dict[str, Any]:
        """The (shared) medication concept for a dm+d code."""
        code = self.medicine_code.get(dmd)
        if code is None or code["coding"][0]["display"] != display:
            code = self.medicine_code[dmd] = {"coding": [{"system": DMD, "code": dmd, "display": display}]}
        return code

    def day(self, days_ago: int) -> str:
        """The ISO date `days_ago` days before the reference date (cached: a run asks for few days)."""
        s = self._dates.get(days_ago)
        if s is None:
            s = date.fromordinal(self.ref_ordinal - days_ago).isoformat()
            self._dates[days_ago] = s
        return s

    def when(self, days_ago: int, minute: int) -> str:
        return self.day(days_ago) + TIMES[minute]


@dataclass(slots=True)
class PersonContext:
    """One person while their record is built. Days count back from the reference date."""

    run: RunContext
    out: Batch
    rnd: random.Random
    pid: str
    subject: dict[str, str]
    female: bool
    age: int
    birth: int  # days ago
    died: int  # days ago, -1 if alive
    end: int  # most recent day with activity; none on the day of death
    start: int  # earliest day with activity: the start of the history or birth
    practice_index: int
    practice: Practice
    practice_ref: dict[str, str]
    decile: int
    ethnicity: int
    lsoa: int
    traits: list[bool]  # conditions first, then social circumstances, then findings
    has: set[str]  # keys of the traits the person has
    gps: list[str]
    acute: Organisation  # the trust that serves the person's practice
    counter: int = 0
    # Filled by the steps, read by later ones.
    family: str = ""
    condition_refs: dict[str, dict[str, str]] = field(default_factory=dict)
    on_statin: bool = False
    n_meds: int = 0
    issues: int = 0
    medicines: list[str] = field(default_factory=list)  # displays, lower case
    hazards: list[str] = field(default_factory=list)  # hazardous combinations written
    low_egfr: bool = False  # methotrexate with an eGFR below 30
    excluded_history: list[str] = field(default_factory=list)  # "refuted:asthma", "resolved:depression"

    @classmethod
    def of(cls, run: RunContext, out: Batch, c: Cohort, i: int) -> PersonContext:
        g = c.start + i
        pid = f"s{run.seed}-p{g}"
        birth = int(c.birth_days_ago[i])
        died = int(c.died_days_ago[i])
        end = died + 1 if died >= 0 else 0
        practice_index = int(c.practice[i])
        practice = run.economy.practices[practice_index]
        traits = c.traits[i].tolist()
        return cls(
            run=run,
            out=out,
            rnd=random.Random((run.seed << 32) | g),
            pid=pid,
            subject={"reference": f"Patient/{pid}"},
            female=bool(c.female[i]),
            age=int(c.age[i]),
            birth=birth,
            died=died,
            end=end,
            start=max(end, min(run.history_days, birth)),
            practice_index=practice_index,
            practice=practice,
            practice_ref=run.practice_refs[practice_index],
            decile=int(c.decile[i]),
            ethnicity=int(c.ethnicity[i]),
            lsoa=int(c.lsoa[i]),
            traits=traits,
            has={t.key for t, on in zip(run.params.traits, traits, strict=True) if on},
            gps=practice.practitioners["gp"],
            acute=run.economy.acute[practice_index % len(run.economy.acute)],
        )

    def next_id(self, kind: str) -> str:
        self.counter += 1
        return f"{self.pid}-{kind}{self.counter}"

    def day_in_window(self) -> int:
        return self.rnd.randint(self.end, self.start)

    def add_coded_observation(self, kind: str, category: list[dict[str, Any]], code: dict[str, Any]) -> None:
        """Write a final Observation with just a code (a finding, a social circumstance) on a day in
        the window; ``kind`` is the letter of its id."""
        self.out.add(
            "Observation",
            {
                "resourceType": "Observation",
                "id": self.next_id(kind),
                "meta": self.run.meta,
                "status": "final",
                "category": category,
                "code": code,
                "subject": self.subject,
                "effectiveDateTime": self.run.day(self.day_in_window()),
            },
        )

    @property
    def years(self) -> float:
        """Years of history in the window."""
        return (self.start - self.end) / 365.0
