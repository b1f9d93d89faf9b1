"""A synthetic population extract, drawn directly as Arrow tables with numpy.

For engine parity tests and benchmarks: realistic table sizes (about 8 condition, 10 medication, 15
encounter and 20 observation rows per person), codes drawn from the feature knowledge so the
features are populated, and deliberate edge cases: nulls, dates on window boundaries, future dates,
resolved conditions, cancelled prescriptions, duplicate rows and codes outside every code list.
This is not a clinically realistic population (``careweave.synth`` is); it exercises the engines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from careweave.population.extract_schema import EXTRACT_SCHEMAS, Extract
from careweave.population.features import FeatureKnowledge, Windows
from careweave.terminology.models import Code

_EPOCH = dt.date(1970, 1, 1)
SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"


def _day(day: dt.date) -> int:
    return (day - _EPOCH).days


def _strings(
    rng: np.random.Generator, choices: list[str | None], n: int, p: list[float] | None = None
) -> pa.Array:
    """n strings drawn from choices (None = null), built as dictionary indices then decoded."""
    index = rng.choice(len(choices), size=n, p=p)
    return _take_strings(choices, index)


def _take_strings(choices: list[str | None], index: np.ndarray) -> pa.Array:
    dictionary = pa.array(choices, pa.string())
    return dictionary.take(pa.array(index.astype(np.int32)))


def _codes(
    pool: list[Code], rng: np.random.Generator, n: int, noise: float, noise_system: str
) -> tuple[pa.Array, pa.Array]:
    """(system, code) columns: from ``pool`` with probability 1 - noise, otherwise unlisted codes."""
    noise_codes: list[Code] = [(noise_system, str(900000000 + i)) for i in range(500)]
    everything = pool + noise_codes
    from_pool = rng.random(n) >= noise if pool else np.zeros(n, dtype=bool)
    index = np.where(
        from_pool,
        rng.integers(0, max(len(pool), 1), size=n),
        len(pool) + rng.integers(0, len(noise_codes), size=n),
    )
    return _take_strings([c[0] for c in everything], index), _take_strings([c[1] for c in everything], index)


def _dates(
    rng: np.random.Generator,
    n: int,
    as_of: dt.date,
    span_days: int,
    boundaries: list[dt.date],
    null_rate: float,
) -> pa.Array:
    """Dates up to ``span_days`` before as_of (a few after it), some exactly on window boundaries."""
    top = _day(as_of)
    days = top - rng.integers(-20, span_days, size=n)
    on_boundary = rng.random(n) < 0.05
    edge_days = np.array([_day(b) + d for b in boundaries for d in (-1, 0, 1)], dtype=np.int64)
    days = np.where(on_boundary, edge_days[rng.integers(0, len(edge_days), size=n)], days)
    mask = rng.random(n) < null_rate
    return pa.array(days.astype(np.int32), pa.int32(), mask=mask).cast(pa.date32())


def _timestamps(dates: pa.Array, rng: np.random.Generator) -> pa.Array:
    days = dates.cast(pa.int32()).to_numpy(zero_copy_only=False)
    valid = dates.is_valid().to_numpy(zero_copy_only=False)
    seconds = rng.integers(0, 86_400, size=len(days))
    micros = (np.nan_to_num(days, nan=0).astype(np.int64) * 86_400 + seconds) * 1_000_000
    return pa.array(micros, pa.int64(), mask=~valid).cast(pa.timestamp("us"))


def _pool(knowledge: FeatureKnowledge, codes: list[Code]) -> list[Code]:
    """``codes`` with every eFI deficit, social need and falls code, sorted."""
    return sorted(
        set(codes)
        | {code for d in knowledge.frailty.deficits for code in d.codes}
        | {code for n in knowledge.social_needs for code in n.codes}
        | set(knowledge.falls_codes)
    )


def _coded_events(
    rng: np.random.Generator, person_id: np.ndarray, pool: list[Code], *, mean: float, noise: float
) -> tuple[int, dict[str, Any]]:
    """A Poisson number of coded events a person: their count and the person, system and code columns."""
    per_person = rng.poisson(mean, size=len(person_id))
    n = int(per_person.sum())
    system, code = _codes(pool, rng, n, noise=noise, noise_system=SNOMED)
    return n, {"person_id": np.repeat(person_id, per_person), "system": system, "code": code}


def generate_extract(
    knowledge: FeatureKnowledge, people: int, *, seed: int, as_of: dt.date, first_person_id: int = 1
) -> Extract:
    """An in-memory synthetic extract of ``people`` people, numbered from ``first_person_id``."""
    rng = np.random.default_rng(seed)
    windows = Windows.for_date(as_of)
    boundaries = [as_of, windows.months_12, windows.months_3, windows.days_30]
    boundaries += [
        as_of - dt.timedelta(days=c.diagnosis_window_days)
        for c in knowledge.conditions
        if c.diagnosis_window_days
    ]
    boundaries += [
        as_of - dt.timedelta(days=c.medicine_rule.window_days)
        for c in knowledge.conditions
        if c.medicine_rule
    ]
    boundaries += [as_of - dt.timedelta(days=r.interval_days) for r in knowledge.monitoring]
    boundaries = sorted(set(boundaries))
    person_id = np.arange(first_person_id, first_person_id + people, dtype=np.int64)

    # person
    ages = np.clip(rng.gamma(4.0, 12.0, size=people), 0, 104)
    birth = _day(as_of) - (ages * 365.25).astype(np.int64) - rng.integers(0, 365, size=people)
    birthday_edge = rng.random(people) < 0.01  # born exactly on as_of's day of the year
    birth = np.where(birthday_edge, _day(as_of.replace(year=as_of.year - 70)), birth)
    imd = rng.integers(1, 11, size=people).astype(np.int8)
    person = pa.table(
        {
            "person_id": person_id,
            "practice_id": rng.integers(1, max(2, people // 8000 + 2), size=people).astype(np.int64),
            "birth_date": pa.array(birth.astype(np.int32)).cast(pa.date32()),
            "sex": _strings(rng, ["female", "male", "other", "unknown"], people, [0.5, 0.48, 0.01, 0.01]),
            "ethnicity_code": _strings(
                rng, ["A", "B", "C", "D", "H", "J", "M", "N", "R", "S", "Z", None], people
            ),
            "imd_decile": pa.array(imd, pa.int8(), mask=rng.random(people) < 0.04),
            "lsoa": _take_strings(
                [f"E0100{i:04d}" for i in range(2000)] + [None], rng.integers(0, 2001, size=people)
            ),
            "deceased": pa.array(rng.random(people) < 0.01),
            "national_opt_out": pa.array(rng.random(people) < 0.03),
            "deceased_date": pa.nulls(people, pa.date32()),
        },
        schema=EXTRACT_SCHEMAS["person"],
    )

    # condition: library diagnostic codes, eFI deficits, social and falls codes, and noise
    condition_pool = _pool(knowledge, [code for c in knowledge.conditions for code in c.codes])
    n, coded = _coded_events(rng, person_id, condition_pool, mean=8, noise=0.3)
    condition = pa.table(
        {
            **coded,
            "onset_date": _dates(rng, n, as_of, 365 * 15, boundaries, null_rate=0.15),
            "recorded_date": _dates(rng, n, as_of, 365 * 15, boundaries, null_rate=0.05),
            "clinical_status": _strings(
                rng,
                ["active", None, "resolved", "inactive", "remission", "recurrence", "relapse"],
                n,
                [0.78, 0.08, 0.06, 0.03, 0.02, 0.02, 0.01],
            ),
            # Every 50 rows: one refuted, one provisional, one entered in error (no random draw, so
            # every other column is as it was for the same seed).
            "verification_status": _take_strings(
                [None, "refuted", "provisional", "entered-in-error"],
                np.where(np.arange(n) % 50 < 3, np.arange(n) % 50 + 1, 0),
            ),
        },
        schema=EXTRACT_SCHEMAS["condition"],
    )

    # medication: listed class codes, displays naming ingredients, and noise; some cancelled
    used = {k for c in knowledge.conditions if c.medicine_rule for k in c.medicine_rule.classes}
    classes = [m for m in knowledge.medicine_classes if m.id in used] or list(knowledge.medicine_classes)
    class_codes = sorted({code for m in classes for code in m.codes})
    ingredients = sorted({i for m in classes for i in m.ingredients})
    per_person = rng.poisson(10, size=people)
    n = int(per_person.sum())
    system, code = _codes(class_codes, rng, n, noise=0.5, noise_system=DMD)
    display_choices: list[str | None] = [f"{i.capitalize()} 20mg tablets" for i in ingredients]
    display_choices += [f"Generic medicine {i} 5mg" for i in range(40)] + [None]
    medication = pa.table(
        {
            "person_id": np.repeat(person_id, per_person),
            "system": system,
            "code": code,
            "display": _strings(rng, display_choices, n),
            "authored_on": _dates(rng, n, as_of, 500, boundaries, null_rate=0.02),
            "status": _strings(
                rng,
                ["active", "completed", "stopped", None, "cancelled", "entered-in-error"],
                n,
                [0.55, 0.25, 0.05, 0.1, 0.03, 0.02],
            ),
        },
        schema=EXTRACT_SCHEMAS["medication"],
    )

    # encounter
    per_person = rng.poisson(15, size=people)
    n = int(per_person.sum())
    start_dates = _dates(rng, n, as_of, 600, boundaries, null_rate=0.01)
    start = _timestamps(start_dates, rng)
    class_index = rng.choice(7, size=n, p=[0.55, 0.1, 0.05, 0.1, 0.15, 0.03, 0.02])
    class_codes_encounter: list[str | None] = ["AMB", "EMER", "IMP", "HH", "VR", "ACUTE", None]
    unplanned = np.where(
        np.isin(class_index, [1]),
        True,
        np.where(np.isin(class_index, [2, 5]), rng.random(n) < 0.6, rng.random(n) < 0.03),
    )
    duration = rng.integers(0, 10 * 86_400, size=n) * 1_000_000
    start_us = start.cast(pa.int64()).to_numpy(zero_copy_only=False)
    end_mask = start.is_null().to_numpy(zero_copy_only=False) | (rng.random(n) < 0.05)
    end = pa.array(np.nan_to_num(start_us, nan=0).astype(np.int64) + duration, pa.int64(), mask=end_mask)
    encounter = pa.table(
        {
            "person_id": np.repeat(person_id, per_person),
            "start": start,
            "end": end.cast(pa.timestamp("us")),
            "class_code": _take_strings(class_codes_encounter, class_index),
            "unplanned": pa.array(unplanned),
            "organisation_id": pa.array(rng.integers(1, 300, size=n), pa.int64(), mask=rng.random(n) < 0.05),
            "sector": _strings(
                rng, ["primary", "secondary", "community", "mental_health", "social_care", None], n
            ),
            "practitioner_id": pa.array(
                rng.integers(1, 20_000, size=n), pa.int64(), mask=rng.random(n) < 0.2
            ),
            # Unplanned hospital care is emergency (EM); unplanned care elsewhere is urgent (UR).
            "priority": _take_strings(
                [None, "R", "EM", "UR"],
                np.where(unplanned, np.where(np.isin(class_index, [1, 2, 5]), 2, 3), 1) * (class_index != 6),
            ),
            "type_code": pa.nulls(n, pa.string()),
        },
        schema=EXTRACT_SCHEMAS["encounter"],
    )

    # observation: monitoring codes, eFI, social and falls codes, and noise
    observation_pool = _pool(knowledge, [code for r in knowledge.monitoring for code in r.observation_codes])
    n, coded = _coded_events(rng, person_id, observation_pool, mean=20, noise=0.4)
    observation = pa.table(
        {
            **coded,
            "effective": _timestamps(_dates(rng, n, as_of, 1000, boundaries, null_rate=0.02), rng),
            "value": pa.array(rng.normal(50, 20, size=n), pa.float64(), mask=rng.random(n) < 0.3),
        },
        schema=EXTRACT_SCHEMAS["observation"],
    )

    # social
    kinds: list[str | None] = [*(s.id for s in knowledge.social_needs), "not_a_known_need"]
    per_person = rng.poisson(0.6, size=people)
    n = int(per_person.sum())
    social = pa.table(
        {
            "person_id": np.repeat(person_id, per_person),
            "kind": _strings(rng, kinds, n),
            "recorded_date": _dates(rng, n, as_of, 3000, boundaries, null_rate=0.1),
        },
        schema=EXTRACT_SCHEMAS["social"],
    )
    return Extract(person, condition, medication, encounter, observation, social)  # the contract's order
