"""The worked cases of the medicines review's rules: one that should fire and one that should not
for every rule, on the boundaries the rules name (age 64 and 65, eGFR 44 and 45, each window's edges,
a PPI issued the day before the window, a stopped medicine, a prescription entered in error). Run by
``test_rules.py``; the drug-drug interaction cases are in ``ddi_cases.py``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.medicines.cases import Case, born, code_of, months

NSAID, PPI = "Naproxen 500mg tablets", "Omeprazole 20mg gastro-resistant capsules"
ASPIRIN, CLOPIDOGREL, APIXABAN = (
    "Aspirin 75mg dispersible tablets",
    "Clopidogrel 75mg tablets",
    "Apixaban 5mg tablets",
)
RECENT = months(1)


def nsaid_65(age: int = 65, **med: object) -> Case:
    return Case().person(1, age).med(1, NSAID, RECENT, **med)  # type: ignore[arg-type]


def monitored(display: str, first: int, second: int) -> Case:
    return Case().person(1, 60).med(1, display, months(first)).med(1, display, months(second))


def polypharmacy(count: int) -> Case:
    case = Case().person(1, 80)
    for index in range(count):
        case.med(1, f"Medicine{chr(97 + index)} 10mg tablets", RECENT)
    return case


CASES: list[tuple[str, str, bool, Callable[[], Case]]] = [
    # PINCER a: 65+, oral NSAID in the last 3 months, no ulcer-healing drug
    ("a fires at 65", "PINCER-a", True, lambda: nsaid_65()),
    (
        "a not at 64",
        "PINCER-a",
        False,
        lambda: Case().person(1, birth=born(65) + dt.timedelta(days=1)).med(1, NSAID, RECENT),
    ),
    (
        "a not with a PPI on the window's first day",
        "PINCER-a",
        False,
        lambda: nsaid_65().med(1, PPI, months(3)),
    ),
    (
        "a fires with a PPI the day before the window",
        "PINCER-a",
        True,
        lambda: nsaid_65().med(1, PPI, months(3, 1)),
    ),
    (
        "a not for an NSAID the day before the window",
        "PINCER-a",
        False,
        lambda: Case().person(1, 70).med(1, NSAID, months(3, 1)),
    ),
    (
        "a fires for an NSAID on the window's first day",
        "PINCER-a",
        True,
        lambda: Case().person(1, 70).med(1, NSAID, months(3)),
    ),
    ("a not for a stopped NSAID", "PINCER-a", False, lambda: nsaid_65(status="stopped")),
    ("a not for an NSAID entered in error", "PINCER-a", False, lambda: nsaid_65(status="entered-in-error")),
    (
        "a not for a topical NSAID",
        "PINCER-a",
        False,
        lambda: Case().person(1, 70).med(1, "Ibuprofen 5% gel", RECENT),
    ),
    (
        "a fires when the only PPI was stopped",
        "PINCER-a",
        True,
        lambda: nsaid_65().med(1, PPI, RECENT, status="stopped"),
    ),
    # b and c: ulcer or bleed history on or before 3 months back
    (
        "b fires",
        "PINCER-b",
        True,
        lambda: Case().person(1, 50).event(1, code_of("peptic_ulcer"), months(4)).med(1, NSAID, RECENT),
    ),
    (
        "b not for an ulcer within 3 months",
        "PINCER-b",
        False,
        lambda: Case().person(1, 50).event(1, code_of("peptic_ulcer"), months(2)).med(1, NSAID, RECENT),
    ),
    (
        "c fires",
        "PINCER-c",
        True,
        lambda: Case().person(1, 50).event(1, code_of("gi_bleed"), months(24)).med(1, CLOPIDOGREL, RECENT),
    ),
    (
        "c not with a PPI",
        "PINCER-c",
        False,
        lambda: (
            Case()
            .person(1, 50)
            .event(1, code_of("gi_bleed"), months(24))
            .med(1, CLOPIDOGREL, RECENT)
            .med(1, PPI, RECENT)
        ),
    ),
    # d, e, f: anticoagulants and antiplatelets
    (
        "d fires",
        "PINCER-d",
        True,
        lambda: Case().person(1, 50).med(1, APIXABAN, RECENT).med(1, NSAID, months(2)),
    ),
    ("d not without an NSAID", "PINCER-d", False, lambda: Case().person(1, 50).med(1, APIXABAN, RECENT)),
    (
        "e fires for issues 27 days apart",
        "PINCER-e",
        True,
        lambda: Case().person(1, 50).med(1, APIXABAN, months(1)).med(1, ASPIRIN, months(1, 27)),
    ),
    (
        "e not for issues 28 days apart",
        "PINCER-e",
        False,
        lambda: Case().person(1, 50).med(1, APIXABAN, months(1)).med(1, ASPIRIN, months(1, 28)),
    ),
    (
        "f fires",
        "PINCER-f",
        True,
        lambda: Case().person(1, 50).med(1, ASPIRIN, RECENT).med(1, CLOPIDOGREL, RECENT),
    ),
    (
        "f not with a PPI",
        "PINCER-f",
        False,
        lambda: Case().person(1, 50).med(1, ASPIRIN, RECENT).med(1, CLOPIDOGREL, RECENT).med(1, PPI, RECENT),
    ),
    # g: asthma not resolved and a non-selective beta-blocker (eye drops count)
    (
        "g fires",
        "PINCER-g",
        True,
        lambda: (
            Case()
            .person(1, 50)
            .event(1, code_of("asthma_unresolved"), months(12))
            .med(1, "Timolol 0.25% eye drops", RECENT)
        ),
    ),
    (
        "g not once asthma is resolved",
        "PINCER-g",
        False,
        lambda: (
            Case()
            .person(1, 50)
            .event(1, code_of("asthma_unresolved"), months(12))
            .event(1, code_of("asthma_unresolved", unless=True), months(6))
            .med(1, "Propranolol 10mg tablets", RECENT)
        ),
    ),
    # i: heart failure on or before 3 months back
    (
        "i fires",
        "PINCER-i",
        True,
        lambda: Case().person(1, 50).event(1, code_of("heart_failure"), months(3)).med(1, NSAID, RECENT),
    ),
    (
        "i not for heart failure first coded within 3 months",
        "PINCER-i",
        False,
        lambda: Case().person(1, 50).event(1, code_of("heart_failure"), months(3, -1)).med(1, NSAID, RECENT),
    ),
    # k: latest eGFR (on or before 3 months back) 1 to under 45
    (
        "k fires at 44",
        "PINCER-k",
        True,
        lambda: Case().person(1, 50).event(1, code_of("egfr_1_to_45"), months(4), 44).med(1, NSAID, RECENT),
    ),
    (
        "k not at 45",
        "PINCER-k",
        False,
        lambda: Case().person(1, 50).event(1, code_of("egfr_1_to_45"), months(4), 45).med(1, NSAID, RECENT),
    ),
    (
        "k not when a later eGFR is 60",
        "PINCER-k",
        False,
        lambda: (
            Case()
            .person(1, 50)
            .event(1, code_of("egfr_1_to_45"), months(8), 30)
            .event(1, code_of("egfr_1_to_45"), months(4), 60)
            .med(1, NSAID, RECENT)
        ),
    ),
    # ac: 75+, ACE inhibitor or loop diuretic first issued 15+ months ago and in the last 6 months
    (
        "ac fires",
        "PINCER-ac",
        True,
        lambda: (
            Case()
            .person(1, 75)
            .med(1, "Ramipril 5mg capsules", months(20))
            .med(1, "Ramipril 5mg capsules", months(2))
        ),
    ),
    (
        "ac not at 74",
        "PINCER-ac",
        False,
        lambda: (
            Case()
            .person(1, 74)
            .med(1, "Ramipril 5mg capsules", months(20))
            .med(1, "Ramipril 5mg capsules", months(2))
        ),
    ),
    (
        "ac not with both tests",
        "PINCER-ac",
        False,
        lambda: (
            Case()
            .person(1, 80)
            .med(1, "Furosemide 40mg tablets", months(16))
            .med(1, "Furosemide 40mg tablets", months(2))
            .event(1, code_of("renal_function_test"), months(14))
            .event(1, code_of("electrolytes_test"), months(14))
        ),
    ),
    # me, li, am: monitoring
    ("me_no_fbc fires", "PINCER-me_no_fbc", True, lambda: monitored("Methotrexate 2.5mg tablets", 4, 1)),
    (
        "me_no_fbc not with an FBC",
        "PINCER-me_no_fbc",
        False,
        lambda: monitored("Methotrexate 2.5mg tablets", 4, 1).event(
            1, code_of("full_blood_count"), months(2)
        ),
    ),
    (
        "me_no_lft fires",
        "PINCER-me_no_lft",
        True,
        lambda: monitored("Methotrexate 2.5mg tablets", 4, 1).event(
            1, code_of("full_blood_count"), months(2)
        ),
    ),
    (
        "me_no_lft not with an LFT",
        "PINCER-me_no_lft",
        False,
        lambda: monitored("Methotrexate 2.5mg tablets", 4, 1).event(
            1, code_of("liver_function_test"), months(3)
        ),
    ),
    ("li fires", "PINCER-li", True, lambda: monitored("Priadel 400mg modified-release tablets", 5, 1)),
    (
        "li not with a level",
        "PINCER-li",
        False,
        lambda: monitored("Lithium carbonate 400mg tablets", 5, 1).event(
            1, code_of("lithium_level"), months(1)
        ),
    ),
    (
        "li not when only started within 3 months",
        "PINCER-li",
        False,
        lambda: monitored("Lithium carbonate 400mg tablets", 2, 1),
    ),
    ("am fires", "PINCER-am", True, lambda: monitored("Amiodarone 200mg tablets", 8, 2)),
    (
        "am not with a TSH in 6 months",
        "PINCER-am",
        False,
        lambda: monitored("Amiodarone 200mg tablets", 8, 2).event(
            1, code_of("thyroid_function_test"), months(6)
        ),
    ),
    # ACB, duplication, polypharmacy, falls
    (
        "ACB fires at 3",
        "ACB",
        True,
        lambda: Case().person(1, 80).med(1, "Amitriptyline 10mg tablets", RECENT),
    ),
    (
        "ACB not at 2",
        "ACB",
        False,
        lambda: (
            Case()
            .person(1, 80)
            .med(1, "Codeine 30mg tablets", RECENT)
            .med(1, "Furosemide 40mg tablets", RECENT)
        ),
    ),
    (
        "duplicate ingredient at two strengths",
        "DUPLICATE",
        True,
        lambda: (
            Case()
            .person(1, 80)
            .med(1, "Atorvastatin 20mg tablets", RECENT)
            .med(1, "Atorvastatin 80mg tablets", RECENT)
        ),
    ),
    (
        "two SSRIs",
        "DUPLICATE",
        True,
        lambda: (
            Case()
            .person(1, 80)
            .med(1, "Sertraline 50mg tablets", RECENT)
            .med(1, "Citalopram 20mg tablets", RECENT)
        ),
    ),
    (
        "not a duplicate once one is stopped",
        "DUPLICATE",
        False,
        lambda: (
            Case()
            .person(1, 80)
            .med(1, "Sertraline 50mg tablets", RECENT)
            .med(1, "Citalopram 20mg tablets", RECENT, status="stopped")
        ),
    ),
    (
        "not a duplicate for two issues of one medicine",
        "DUPLICATE",
        False,
        lambda: (
            Case()
            .person(1, 80)
            .med(1, "Atorvastatin 20mg tablets", months(2))
            .med(1, "Atorvastatin 20mg tablets", RECENT)
        ),
    ),
    ("10 medicines", "POLYPHARMACY", True, lambda: polypharmacy(10)),
    ("9 medicines", "POLYPHARMACY", False, lambda: polypharmacy(9)),
    (
        "5 medicines and frail",
        "POLYPHARMACY",
        True,
        lambda: polypharmacy(5).event(1, code_of("frail"), months(12)),
    ),
    (
        "fell and a falls-risk medicine",
        "FALLS-RISK-MEDICINES",
        True,
        lambda: (
            Case()
            .person(1, 80)
            .event(1, code_of("fell_12m"), months(2))
            .med(1, "Zopiclone 7.5mg tablets", RECENT)
        ),
    ),
    (
        "fell 13 months ago",
        "FALLS-RISK-MEDICINES",
        False,
        lambda: (
            Case()
            .person(1, 80)
            .event(1, code_of("fell_12m"), months(13))
            .med(1, "Zopiclone 7.5mg tablets", RECENT)
        ),
    ),
]
