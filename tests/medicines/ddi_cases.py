"""The drug-drug interaction cases (the ONC high-priority pairs, Phansalkar 2012): for each pair, both
issued in the window fires; the second issued the day before the window, or stopped, does not."""

from __future__ import annotations

from collections.abc import Callable

from tests.medicines.cases import Case, months

RECENT = months(1)

# rule, a product of the first group, a product of the second
PAIRS: list[tuple[str, str, str]] = [
    ("DDI-ONC-01-amphetamine-maoi", "Dexamfetamine 5mg tablets", "Phenelzine 15mg tablets"),
    ("DDI-ONC-02-opioid-maoi", "Tramadol 50mg capsules", "Tranylcypromine 10mg tablets"),
    ("DDI-ONC-03-tricyclic-maoi", "Amitriptyline 10mg tablets", "Isocarboxazid 10mg tablets"),
    ("DDI-ONC-04-triptan-maoi", "Sumatriptan 50mg tablets", "Moclobemide 150mg tablets"),
    ("DDI-ONC-05-ssri-snri-maoi", "Sertraline 50mg tablets", "Phenelzine 15mg tablets"),
    ("DDI-ONC-06-citalopram-qt", "Citalopram 20mg tablets", "Amiodarone 200mg tablets"),
    (
        "DDI-ONC-07-irinotecan-cyp3a4-inhibitor",
        "Irinotecan 100mg/5ml infusion",
        "Itraconazole 100mg capsules",
    ),
    ("DDI-ONC-08-statin-cyp3a4-inhibitor", "Simvastatin 40mg tablets", "Clarithromycin 500mg tablets"),
    ("DDI-ONC-09-ergot-cyp3a4-inhibitor", "Ergotamine 1mg tablets", "Ketoconazole 200mg tablets"),
    ("DDI-ONC-10-tizanidine-cyp1a2-inhibitor", "Tizanidine 2mg tablets", "Ciprofloxacin 500mg tablets"),
    ("DDI-ONC-11-ramelteon-fluvoxamine", "Ramelteon 8mg tablets", "Fluvoxamine 50mg tablets"),
    ("DDI-ONC-12-atazanavir-ppi", "Atazanavir 300mg capsules", "Omeprazole 20mg gastro-resistant capsules"),
    ("DDI-ONC-13-febuxostat-thiopurine", "Febuxostat 80mg tablets", "Azathioprine 50mg tablets"),
    ("DDI-ONC-14-tranylcypromine-procarbazine", "Tranylcypromine 10mg tablets", "Procarbazine 50mg capsules"),
    ("DDI-ONC-15-cyp3a4-inducer-protease-inhibitor", "Rifampicin 300mg capsules", "Darunavir 800mg tablets"),
]


def _pair(first: str, second: str, **second_issue: object) -> Callable[[], Case]:
    when = second_issue.pop("on", RECENT)
    return lambda: Case().person(1, 50).med(1, first, RECENT).med(1, second, when, **second_issue)  # type: ignore[arg-type]


DDI_CASES: list[tuple[str, str, bool, Callable[[], Case]]] = []
for rule, first, second in PAIRS:
    DDI_CASES += [
        (f"{rule} fires with both current", rule, True, _pair(first, second)),
        (
            f"{rule} fires with the second on the window's first day",
            rule,
            True,
            _pair(first, second, on=months(3)),
        ),
        (
            f"{rule} not with the second the day before the window",
            rule,
            False,
            _pair(first, second, on=months(3, 1)),
        ),
        (f"{rule} not with the second stopped", rule, False, _pair(first, second, status="stopped")),
    ]
