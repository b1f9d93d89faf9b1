"""The STOPP/START version 3 cases (people aged 65 and over), one firing and one not per criterion, on
the boundaries the criteria name; with ``rule_cases.py`` run by ``test_rules.py``."""

from __future__ import annotations

from collections.abc import Callable

from tests.medicines.cases import Case, code_of, months
from tests.medicines.rule_cases import RECENT, nsaid_65

STOPP_CASES: list[tuple[str, str, bool, Callable[[], Case]]] = [
    # STOPP/START v3
    (
        "NSAID and eGFR 49",
        "STOPP-v3-E-nsaid-egfr-below-50",
        True,
        lambda: nsaid_65().event(1, code_of("egfr_below_50"), months(1), 49),
    ),
    (
        "NSAID and eGFR 50",
        "STOPP-v3-E-nsaid-egfr-below-50",
        False,
        lambda: nsaid_65().event(1, code_of("egfr_below_50"), months(1), 50),
    ),
    (
        "NSAID and eGFR 49 at 64",
        "STOPP-v3-E-nsaid-egfr-below-50",
        False,
        lambda: nsaid_65(64).event(1, code_of("egfr_below_50"), months(1), 49),
    ),
    (
        "metformin and eGFR 29",
        "STOPP-v3-E-metformin-egfr-below-30",
        True,
        lambda: (
            Case()
            .person(1, 70)
            .med(1, "Metformin 500mg tablets", RECENT)
            .event(1, code_of("egfr_below_30"), RECENT, 29)
        ),
    ),
    (
        "metformin and eGFR 30",
        "STOPP-v3-E-metformin-egfr-below-30",
        False,
        lambda: (
            Case()
            .person(1, 70)
            .med(1, "Metformin 500mg tablets", RECENT)
            .event(1, code_of("egfr_below_30"), RECENT, 30)
        ),
    ),
    (
        "benzodiazepine after a fall at 65",
        "STOPP-v3-K-benzodiazepine-falls",
        True,
        lambda: (
            Case().person(1, 65).med(1, "Diazepam 2mg tablets", RECENT).event(1, code_of("fell_12m"), RECENT)
        ),
    ),
    (
        "benzodiazepine after a fall at 64",
        "STOPP-v3-K-benzodiazepine-falls",
        False,
        lambda: (
            Case().person(1, 64).med(1, "Diazepam 2mg tablets", RECENT).event(1, code_of("fell_12m"), RECENT)
        ),
    ),
    (
        "vascular disease and no statin",
        "START-v3-A-statin-vascular-disease",
        True,
        lambda: Case().person(1, 70).event(1, code_of("vascular_disease"), months(30)),
    ),
    (
        "vascular disease and a statin",
        "START-v3-A-statin-vascular-disease",
        False,
        lambda: (
            Case()
            .person(1, 70)
            .event(1, code_of("vascular_disease"), months(30))
            .med(1, "Atorvastatin 20mg tablets", RECENT)
        ),
    ),
    (
        "AF and no anticoagulant",
        "START-v3-A-anticoagulant-af",
        True,
        lambda: Case().person(1, 70).event(1, code_of("atrial_fibrillation"), months(30)),
    ),
    (
        "AF resolved",
        "START-v3-A-anticoagulant-af",
        False,
        lambda: (
            Case()
            .person(1, 70)
            .event(1, code_of("atrial_fibrillation"), months(30))
            .event(1, code_of("atrial_fibrillation", unless=True), months(3))
        ),
    ),
    (
        "regular opioid without a laxative",
        "START-v3-H-laxative-regular-opioid",
        True,
        lambda: (
            Case()
            .person(1, 70)
            .med(1, "Morphine 10mg tablets", months(4))
            .med(1, "Morphine 10mg tablets", RECENT)
        ),
    ),
    (
        "regular opioid with a laxative",
        "START-v3-H-laxative-regular-opioid",
        False,
        lambda: (
            Case()
            .person(1, 70)
            .med(1, "Morphine 10mg tablets", months(4))
            .med(1, "Morphine 10mg tablets", RECENT)
            .med(1, "Senna 7.5mg tablets", RECENT)
        ),
    ),
]
