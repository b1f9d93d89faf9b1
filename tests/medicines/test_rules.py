"""One case that should fire and one that should not for every rule (``rule_cases.py`` and
``ddi_cases.py``), on the boundaries the rules name: age 64 and 65, eGFR 44 and 45, each window's
edges, a PPI issued the day before the window, a stopped medicine and a prescription entered in error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.medicines.cases import AS_OF, Case, months
from tests.medicines.ddi_cases import DDI_CASES
from tests.medicines.rule_cases import CASES as RULE_CASES
from tests.medicines.rule_cases import RECENT, nsaid_65
from tests.medicines.stopp_cases import STOPP_CASES

CASES = RULE_CASES + STOPP_CASES + DDI_CASES


@pytest.mark.parametrize(("rule", "fires", "build"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(rule: str, fires: bool, build: Callable[[], Case]) -> None:
    assert (rule in build().rules_for(1)) is fires


def test_every_rule_has_a_case_each_way() -> None:
    from tests.medicines.cases import RULES

    covered = {(c[1], c[2]) for c in CASES}
    assert {r.id for r in RULES.rules} == {rule for rule, _ in covered}
    assert all((r.id, True) in covered and (r.id, False) in covered for r in RULES.rules)


def test_a_finding_names_its_medicines_and_the_acb_total() -> None:
    case = (
        Case()
        .person(1, 80)
        .med(1, "Amitriptyline 10mg tablets", RECENT)
        .med(1, "Oxybutynin 5mg tablets", months(2))
    )
    case.med(1, "Oxybutynin 5mg tablets", RECENT)
    acb = next(f for f in case.findings() if f.rule == "ACB")
    assert acb.acb_total == 6
    printed = acb.as_json()
    assert {m["name"] for m in printed["medicines"]} == {
        "Amitriptyline 10mg tablets",
        "Oxybutynin 5mg tablets",
    }
    assert printed["rule"] == "ACB" and printed["severity"] == "medium" and "Boustani" in printed["source"]


def test_the_dead_have_no_findings() -> None:
    case = nsaid_65(70)
    case.people[0]["deceased"] = True
    assert case.rules_for(1) == set()


def test_current_medicines_start_at_the_first_issue_of_the_course() -> None:
    from careweave.population.medicines import MedicinesReview, run
    from careweave.population.medicines.inputs import day_number

    case = Case().person(1, 70)
    case.med(1, "Atorvastatin 20mg tablets", months(14))  # an earlier course, then a gap over 3 months
    for back in (8, 6, 4, 2):
        case.med(1, "Atorvastatin 20mg tablets", months(back))
    case.med(1, "Amoxicillin 500mg capsules", RECENT, course="acute")
    case.med(1, "Ramipril 5mg capsules", RECENT, course="continuous")
    case.med(1, "Naproxen 500mg tablets", months(3, 1))  # issued the day before the window: not current
    _rows, current = run(case.inputs(), MedicinesReview.of(AS_OF))
    by_name = {r["display"]: r for r in current.to_pylist()}
    assert set(by_name) == {
        "Atorvastatin 20mg tablets",
        "Amoxicillin 500mg capsules",
        "Ramipril 5mg capsules",
    }
    assert by_name["Atorvastatin 20mg tablets"]["since_day"] == day_number(months(8))
    assert by_name["Atorvastatin 20mg tablets"]["is_repeat"] is True
    assert by_name["Amoxicillin 500mg capsules"]["is_repeat"] is False
    assert by_name["Ramipril 5mg capsules"]["is_repeat"] is True
