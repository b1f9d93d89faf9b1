"""Each PINCER indicator's numerator on a generated population equals an independent computation,
written here in plain Python from the published definition (OpenSAFELY pincer-measures,
analysis/study_definition.py and utilities.co_prescription), not from the SQL.

Shared with the engine: only the code lists and ingredient lists (the reviewed data) and which
statuses count (stopped, cancelled, entered in error and draft do not)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from careweave.population.features import months_before
from careweave.population.medicines import MedicinesReview, review
from careweave.population.medicines.inputs import EPOCH
from careweave.population.medicines.synthetic import synthetic_inputs
from careweave.terminology.loading.medicines_rules import load_medicines_rules

AS_OF = dt.date(2026, 3, 31)
RULES = load_medicines_rules()
INDICATORS = ("a", "b", "c", "d", "e", "f", "g", "i", "k", "ac", "me_no_fbc", "me_no_lft", "li", "am")


def _day(months: int) -> dt.date:
    return months_before(AS_OF, months)


class Person:
    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.issues: list[tuple[dt.date, str, str | None]] = []  # (date, display lower, status)
        self.codes: list[tuple[dt.date, tuple[str, str], float | None]] = []

    def age(self) -> int:
        ymd = self.row["birth_ymd"]
        birth = dt.date(ymd // 10000, ymd // 100 % 100, ymd % 100)
        return AS_OF.year - birth.year - ((AS_OF.month, AS_OF.day) < (birth.month, birth.day))

    def _is(self, group_id: str, display: str, code: tuple[str, str]) -> bool:
        group = next(g for g in RULES.groups if g.id == group_id)
        if any(x in display for x in group.exclude_display):
            return False
        return code in group.codes or any(i in display for i in group.ingredients)

    def issued(
        self, group: str, start: dt.date | None, end: dt.date, *, history: bool = False
    ) -> list[dt.date]:
        """Issue dates of ``group`` in [start, end]; current issues only unless ``history``."""
        refused = set(RULES.not_issued) if history else set(RULES.not_current)
        return [
            day
            for day, display, status, code in self.issues  # type: ignore[misc]
            if (start is None or day >= start)
            and day <= end
            and status not in refused
            and self._is(group, display, code)
        ]

    def coded(
        self, fact: str, start: dt.date | None, end: dt.date, *, unless: bool = False
    ) -> list[tuple[dt.date, float | None]]:
        codes = RULES.fact(fact).unless_codes if unless else RULES.fact(fact).codes
        return [(d, v) for d, c, v in self.codes if c in codes and (start is None or d >= start) and d <= end]


def _people() -> dict[int, Person]:
    inputs = synthetic_inputs(4000, seed=11, as_of=AS_OF, rules=RULES)
    people = {r["person_id"]: Person(r) for r in inputs.tables["person"].to_pylist()}
    for m in inputs.tables["medication"].to_pylist():
        if m["day"] is None or m["code"] is None or m["status"] in RULES.not_issued:
            continue
        day = EPOCH + dt.timedelta(days=m["day"])
        if day <= AS_OF:
            people[m["person_id"]].issues.append(
                (day, (m["display"] or "").lower(), m["status"], (m["system"], m["code"]))
            )  # type: ignore[arg-type]
    for e in inputs.tables["event"].to_pylist():
        if e["day"] is not None and e["day"] <= (AS_OF - EPOCH).days:
            people[e["person_id"]].codes.append(
                (EPOCH + dt.timedelta(days=e["day"]), (e["system"], e["code"]), e["value"])
            )
    return people


def expected(p: Person) -> set[str]:
    """The numerators of study_definition.py for one person."""
    r = p.row
    if r["deceased"] or p.age() < 18 or p.age() > 120 or r["sex"] not in ("male", "female"):
        return set()
    age, m3, m6, m12, m15, now = p.age(), _day(3), _day(6), _day(12), _day(15), AS_OF
    oral_nsaid = bool(p.issued("oral_nsaid", m3, now))
    ppi = bool(p.issued("ulcer_healing", m3, now))
    ulcer = bool(p.coded("peptic_ulcer", None, m3)) or bool(p.coded("gi_bleed", None, m3))
    aspirin = p.issued("aspirin", m3, now)
    other_antiplatelet = p.issued("antiplatelet_excluding_aspirin", m3, now)
    anticoagulant = p.issued("oral_anticoagulant", m3, now)
    any_antiplatelet = p.issued("antiplatelet_including_aspirin", m3, now)

    def together(xs: list[dt.date], ys: list[dt.date]) -> bool:
        return any(abs((x - y).days) < 28 for x in xs for y in ys)

    asthma = p.coded("asthma_unresolved", None, m3)
    resolved = p.coded("asthma_unresolved", None, now, unless=True)
    asthma_unresolved = bool(asthma) and (
        not resolved or max(d for d, _ in resolved) < max(d for d, _ in asthma)
    )
    egfr = p.coded("egfr_1_to_45", None, m3)
    egfr_low = False
    if egfr:
        latest = max(d for d, _ in egfr)
        values = [v for d, v in egfr if d == latest and v is not None]
        egfr_low = (
            bool(values) and 1 <= min(values) < 45 and len(values) == len([v for d, v in egfr if d == latest])
        )
    found = set()
    if age >= 65 and not ppi and oral_nsaid:
        found.add("a")
    if not ppi and ulcer and oral_nsaid:
        found.add("b")
    if not ppi and ulcer and (aspirin or other_antiplatelet):
        found.add("c")
    if anticoagulant and oral_nsaid:
        found.add("d")
    if anticoagulant and not ppi and together(anticoagulant, any_antiplatelet):
        found.add("e")
    if aspirin and not ppi and together(aspirin, other_antiplatelet):
        found.add("f")
    if asthma_unresolved and p.issued("non_selective_beta_blocker", m3, now):
        found.add("g")
    if p.coded("heart_failure", None, m3) and oral_nsaid:
        found.add("i")
    if egfr_low and oral_nsaid:
        found.add("k")
    long_term = (
        p.issued("loop_diuretic", None, m15, history=True) and p.issued("loop_diuretic", m6, now)
    ) or (p.issued("ace_inhibitor", None, m15, history=True) and p.issued("ace_inhibitor", m6, now))
    if (
        age >= 75
        and long_term
        and (not p.coded("renal_function_test", m15, now) or not p.coded("electrolytes_test", m15, now))
    ):
        found.add("ac")
    if p.issued("methotrexate", m6, m3) and p.issued("methotrexate", m3, now):
        if not p.coded("full_blood_count", m3, now):
            found.add("me_no_fbc")
        if not p.coded("liver_function_test", m3, now):
            found.add("me_no_lft")
    if p.issued("lithium", m6, m3) and p.issued("lithium", m3, now) and not p.coded("lithium_level", m3, now):
        found.add("li")
    if (
        p.issued("amiodarone", m12, m6)
        and p.issued("amiodarone", m6, now)
        and not p.coded("thyroid_function_test", m6, now)
    ):
        found.add("am")
    return found


@pytest.fixture(scope="module")
def counts() -> tuple[Counter[str], Counter[str]]:
    people = _people()
    independent: Counter[str] = Counter(i for p in people.values() for i in expected(p))
    engine = Counter(
        f.rule.removeprefix("PINCER-")
        for f in review(
            synthetic_inputs(4000, seed=11, as_of=AS_OF, rules=RULES), MedicinesReview.of(AS_OF, rules=RULES)
        )
        if f.family == "PINCER"
    )
    return independent, engine


@pytest.mark.parametrize("indicator", INDICATORS)
def test_indicator_count_matches_the_published_definition(
    indicator: str, counts: tuple[Counter[str], Counter[str]]
) -> None:
    independent, engine = counts
    assert engine[indicator] == independent[indicator]


def test_the_population_exercises_every_indicator(counts: tuple[Counter[str], Counter[str]]) -> None:
    independent, _engine = counts
    assert all(independent[i] > 0 for i in INDICATORS), independent
