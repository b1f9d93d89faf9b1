"""Synthetic review inputs for parity tests, count tests and the benchmark.

The population extract's generator (``population.synthetic_extract``) draws medicines from the
condition rules' classes only; the review also needs NSAIDs, antiplatelets, methotrexate, lithium,
beta-blockers, ACB drugs and the coded events the facts read. This adds them, on top of that
extract, with dates on every fact window's edges (the day before, on, and after), statuses that must
not count (stopped, cancelled, entered in error), courses, and eGFR values either side of the
thresholds. Not clinically realistic: it exercises the rules.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from careweave.population.features import FeatureKnowledge
from careweave.population.synthetic_extract import generate_extract
from careweave.terminology.loading.medicines_rules import MedicinesRules, load_medicines_rules

from .inputs import EVENT, MEDICATION, ReviewInputs, day_number
from .spec import MedicinesReview

DMD = "https://dmd.nhs.uk"
_FOCUS = frozenset(
    {
        "oral_nsaid",
        "ulcer_healing",
        "aspirin",
        "antiplatelet_excluding_aspirin",
        "oral_anticoagulant",
        "non_selective_beta_blocker",
        "ace_inhibitor",
        "loop_diuretic",
        "methotrexate",
        "lithium",
        "amiodarone",
    }
)


def _take(choices: list[str | None], index: np.ndarray) -> pa.Array:
    return pa.array(choices, pa.string()).take(pa.array(index.astype(np.int32)))


def _edge_days(question: MedicinesReview, rng: np.random.Generator, n: int, span: int) -> np.ndarray:
    """Day numbers: mostly uniform over ``span`` days back, 10% on a window edge (-1, 0, +1 day)."""
    rules = question.rules
    months = {0, rules.current_months} | {f.end_months for f in rules.facts}
    months |= {f.start_months for f in rules.facts if f.start_months is not None}
    edges = np.array([question.day(m) + d for m in sorted(months) for d in (-1, 0, 1)], dtype=np.int64)
    top = question.day(0)
    days = top - rng.integers(-5, span, size=n)
    on_edge = rng.random(n) < 0.1
    return np.where(on_edge, edges[rng.integers(0, len(edges), size=n)], days).astype(np.int32)


def synthetic_inputs(
    people: int,
    *,
    seed: int,
    as_of: dt.date,
    rules: MedicinesRules | None = None,
    knowledge: FeatureKnowledge | None = None,
) -> ReviewInputs:
    """The population extract's synthetic people, with the review's medicines and events added."""
    rules = rules or load_medicines_rules()
    question = MedicinesReview.of(as_of, rules=rules)
    base = ReviewInputs.from_extract(
        generate_extract(knowledge or FeatureKnowledge.from_terminology(), people, seed=seed, as_of=as_of)
    )
    rng = np.random.default_rng(seed + 1)
    person_id = np.arange(1, people + 1, dtype=np.int64)

    # half the draws from the groups PINCER reads (a short list, so combinations occur), half from all
    focus = sorted({i for g in rules.groups if g.id in _FOCUS for i in g.ingredients if " " not in i})
    every = {i for g in rules.groups for i in g.ingredients if " " not in i} | set(rules.acb_scores)
    ingredients = focus + sorted(every - set(focus))
    displays: list[str | None] = [
        f"{i.capitalize()} {s} tablets" for i in ingredients for s in ("10mg", "40mg")
    ]
    displays += ["Ibuprofen 5% gel", "Timolol 0.5% eye drops", None]
    codes = [str(30_000_000_000 + i) for i in range(len(displays))]
    per_person = rng.poisson(6, size=people)
    n = int(per_person.sum())
    pick = np.where(
        rng.random(n) < 0.5, rng.integers(0, 2 * len(focus), size=n), rng.integers(0, len(displays), size=n)
    )
    medication = pa.table(
        {
            "person_id": np.repeat(person_id, per_person),
            "system": _take([DMD], np.zeros(n)),
            "code": _take(list(codes), pick),
            "display": _take(displays, pick),
            "day": _edge_days(question, rng, n, 600),
            "status": _take(
                ["active", "completed", "stopped", None, "cancelled", "entered-in-error"],
                rng.choice(6, size=n, p=[0.6, 0.2, 0.06, 0.08, 0.03, 0.03]),
            ),
            "course": _take(["acute", "continuous", None], rng.choice(3, size=n, p=[0.3, 0.5, 0.2])),
        },
        schema=MEDICATION,
    )

    # a third of people on a repeat of one of those medicines, issued every month for up to 18 months
    on_repeat = person_id[rng.random(people) < 0.35]
    length = rng.integers(1, 19, size=len(on_repeat))
    n = int(length.sum())
    offsets = np.arange(n) - np.repeat(np.cumsum(length) - length, length)
    chosen = np.repeat(rng.integers(0, 2 * len(focus), size=len(on_repeat)), length)
    last = np.repeat(question.day(0) - rng.integers(0, 40, size=len(on_repeat)), length)
    repeats = pa.table(
        {
            "person_id": np.repeat(on_repeat, length),
            "system": _take([DMD], np.zeros(n)),
            "code": _take(list(codes), chosen),
            "display": _take(displays, chosen),
            "day": (last - offsets * 28).astype(np.int32),
            "status": _take(["active", "completed"], rng.integers(0, 2, size=n)),
            "course": _take(["continuous"], np.zeros(n)),
        },
        schema=MEDICATION,
    )

    event_codes = sorted({code for f in rules.facts for code in (*f.codes, *f.unless_codes)})
    per_person = rng.poisson(3, size=people)
    n = int(per_person.sum())
    pick = rng.integers(0, len(event_codes), size=n)
    values = np.round(rng.uniform(0, 95, size=n))
    # a fifth of values exactly on a threshold
    thresholds = np.array([30.0, 45.0, 50.0, 1.0])
    values = np.where(rng.random(n) < 0.2, thresholds[rng.integers(0, len(thresholds), size=n)], values)
    events = pa.table(
        {
            "person_id": np.repeat(person_id, per_person),
            "system": _take([c[0] for c in event_codes], pick),
            "code": _take([c[1] for c in event_codes], pick),
            "day": _edge_days(question, rng, n, 900),
            "value": pa.array(values, pa.float64(), mask=rng.random(n) < 0.1),
        },
        schema=EVENT,
    )
    tables = {name: table for name, table in base.tables.items() if isinstance(table, pa.Table)}
    tables["medication"] = pa.concat_tables([tables["medication"], medication, repeats]).combine_chunks()
    tables["event"] = pa.concat_tables([tables["event"], events]).combine_chunks()
    return ReviewInputs(dict(tables))


__all__ = ["day_number", "synthetic_inputs"]
