"""Cross-checks against real data: Synthea FHIR records and the GM-SDE reference code sets.

Synthea condition codes are read from ../shared/data at test time; the GM-SDE code sets from
../shared/reference (both skip off CI when absent, like ``shared_data_dir``).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from careweave.terminology import SNOMED, load_condition_library, load_frailty_index, load_social_needs
from tests.conftest import REPO_ROOT, shared_data_dir

pytestmark = pytest.mark.shared_data

# Synthea codes for acute episodes, injuries, pregnancy and procedures: not long-term conditions.
SYNTHEA_NOT_LONG_TERM = {
    "10509002", "16114001", "19169002", "195662009", "196416002", "262574004", "263102004",
    "283371005", "283385000", "284549007", "284551006", "307731004", "36971009", "398254007",
    "39848009", "403190006", "410429000", "428251008", "429007001", "43878008", "444448004",
    "44465007", "444814009", "47693006", "55680006", "58150001", "62106007", "62564004", "65363002",
    "65966004", "70704007", "713197008", "72892002", "74400008", "75498004", "79586000",
}  # fmt: skip

# Synthea long-term condition codes and the library condition each must map to.
SYNTHEA_EXPECTED = {
    "44054006": {"diabetes"},
    "368581000119106": {"diabetes"},
    "38341003": {"hypertension"},
    "185086009": {"copd"},
    "87433001": {"copd"},
    "53741008": {"coronary_heart_disease"},
    "230690007": {"stroke_tia"},
    "49436004": {"atrial_fibrillation"},
    "88805009": {"heart_failure"},
    "26929004": {"dementia"},
    "239873007": {"osteoarthritis"},
    "239872002": {"osteoarthritis"},
    "201834006": {"osteoarthritis"},
    "64859006": {"osteoporosis"},
    "443165006": {"osteoporosis"},
    "40055000": {"chronic_sinusitis"},
    "126906006": {"cancer"},
    "109838007": {"cancer"},
    "83664006": {"thyroid_disorders"},
    "84757009": {"epilepsy"},
    "128613002": {"epilepsy"},
    "82423001": {"painful_condition"},
    "47505003": {"anxiety"},
    "24079001": {"psoriasis_eczema"},
    "124171000119105": {"migraine"},
}

# Other Synthea codes named in the design brief (not all occur in the shared sample).
BRIEF_EXPECTED = {
    "59621000": {"hypertension"},
    "195967001": {"asthma"},
    "22298006": {"coronary_heart_disease"},
    "69896004": {"connective_tissue_disorders"},
    "127013003": {"diabetes"},
    "90781000119102": {"diabetes"},
    "157141000119108": {"diabetes"},
    "433144002": {"chronic_kidney_disease"},
    "431857002": {"chronic_kidney_disease"},
    "46177005": {"chronic_kidney_disease"},
    "254637007": {"cancer"},
    "363406005": {"cancer"},
    "254837009": {"cancer"},
}


def _synthea_condition_codes(directory: Path) -> Iterator[tuple[str, str, str]]:
    for path in sorted(directory.glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            bundle = json.load(handle)
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            if resource["resourceType"] == "Condition":
                for coding in resource["code"].get("coding", []):
                    yield coding["system"], coding["code"], coding.get("display", "")


def test_every_synthea_condition_code_is_classified() -> None:
    """Each code is mapped to a condition, deliberately excluded, or known not to be long-term."""
    library = load_condition_library()
    excluded = {(item.system, item.code) for item in library.excluded_codes}
    unclassified = set()
    for system, code, display in _synthea_condition_codes(shared_data_dir("synthea-r4")):
        mapped = library.conditions_for_code(system, code)
        if code in SYNTHEA_EXPECTED:
            assert set(mapped) == SYNTHEA_EXPECTED[code], (code, display, mapped)
        elif not mapped and (system, code) not in excluded and code not in SYNTHEA_NOT_LONG_TERM:
            unclassified.add((code, display))
    assert not unclassified


def test_brief_codes_map() -> None:
    library = load_condition_library()
    for code, expected in {**SYNTHEA_EXPECTED, **BRIEF_EXPECTED}.items():
        assert set(library.conditions_for_code(SNOMED, code)) == expected, code


# -- GM-SDE reference code sets ------------------------------------------------------------------


def _reference_dir() -> Path:
    path = REPO_ROOT.parent / "shared" / "reference" / "codelists" / "gm-sde-snomed"
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: under CI ../shared/reference must be present")
        pytest.skip(f"{path} not present")
    return path


def _reference_codes(*names: str) -> set[str]:
    codes: set[str] = set()
    for name in names:
        text = (_reference_dir() / f"{name}.snomed.txt").read_text(encoding="utf-8-sig", errors="replace")
        for line in text.splitlines():
            first = line.split("\t", 1)[0].strip()
            if first.isdigit():
                codes.add(first)
    return codes


def _snomed(codes: frozenset[tuple[str, str]]) -> set[str]:
    return {code for system, code in codes if system == SNOMED}


# condition id -> GM-SDE code sets; at least `share` of our codes must be in the reference set.
CONDITION_REFERENCE_SETS = {
    "hypertension": (("conditions--hypertension",), 0.9),
    "depression": (("conditions--depression",), 0.9),
    "anxiety": (("conditions--anxiety",), 0.9),
    "asthma": (("conditions--asthma",), 0.9),
    "copd": (("conditions--copd",), 0.5),
    "heart_failure": (("conditions--heart-failure",), 0.6),
    "dementia": (("conditions--dementia",), 0.6),
    "stroke_tia": (("conditions--stroke", "conditions--tia", "conditions--efi-stroke-tia"), 0.6),
    "chronic_kidney_disease": (("conditions--chronic-kidney-disease",), 0.9),
    "cancer": (("conditions--cancer",), 0.8),
    "schizophrenia_bipolar": (("conditions--severe-mental-illness", "conditions--bipolar"), 0.6),
    "thyroid_disorders": (("conditions--thyroid-disorders",), 0.9),
    "learning_disability": (("conditions--learning-disability",), 0.8),
    "osteoarthritis": (("conditions--osteoarthritis",), 0.9),
    "peripheral_vascular_disease": (("conditions--peripheral-arterial-disease", "conditions--efi-pvd"), 0.6),
    "diabetes": (("conditions--diabetes", "conditions--efi-diabetes"), 0.6),
}


@pytest.mark.parametrize("condition_id", sorted(CONDITION_REFERENCE_SETS))
def test_condition_codes_agree_with_gm_sde(condition_id: str) -> None:
    names, share = CONDITION_REFERENCE_SETS[condition_id]
    ours = _snomed(load_condition_library().by_id(condition_id).codes)
    reference = _reference_codes(*names)
    assert len(ours & reference) >= share * len(ours), sorted(ours - reference)


EFI_REFERENCE_SETS = {
    "activity_limitation": "patient--efi-activity-limitation",
    "anaemia": "patient--efi-anaemia",
    "arthritis": "conditions--efi-arthritis",
    "atrial_fibrillation": "conditions--efi-atrial-fibrillation",
    "cerebrovascular_disease": "conditions--efi-stroke-tia",
    "chronic_kidney_disease": "conditions--efi-ckd",
    "diabetes": "conditions--efi-diabetes",
    "dizziness": "patient--efi-dizziness",
    "dyspnoea": "patient--efi-dyspnoea",
    "falls": "patient--efi-falls",
    "foot_problems": "conditions--efi-foot-problems",
    "fragility_fracture": "conditions--efi-fragility-fracture",
    "hearing_impairment": "conditions--efi-hearing-loss",
    "heart_failure": "conditions--efi-heart-failure",
    "heart_valve_disease": "conditions--efi-heart-valve-disease",
    "housebound": "patient--efi-housebound",
    "hypertension": "conditions--efi-hypertension",
    "hypotension_syncope": "conditions--efi-hypotension",
    "ischaemic_heart_disease": "conditions--efi-chd",
    "memory_cognitive_problems": "patient--efi-cognitive-problems",
    "mobility_transfer_problems": "patient--efi-mobility-problems",
    "osteoporosis": "conditions--efi-osteoporosis",
    "parkinsonism_tremor": "conditions--efi-parkinsons",
    "peptic_ulcer": "conditions--efi-peptic-ulcer",
    "peripheral_vascular_disease": "conditions--efi-pvd",
    "requirement_for_care": "patient--efi-care-requirement",
    "respiratory_disease": "conditions--efi-respiratory-disease",
    "skin_ulcer": "conditions--efi-skin-ulcer",
    "sleep_disturbance": "patient--efi-sleep-disturbance",
    "social_vulnerability": "patient--efi-social-vulnerability",
    "thyroid_disease": "conditions--efi-thyroid-disorders",
    "urinary_incontinence": "patient--efi-urinary-incontinence",
    "urinary_system_disease": "conditions--efi-urinary-system-disease",
    "visual_impairment": "conditions--efi-vision-problems",
    "weight_loss_anorexia": "patient--efi-weight-loss",
}


def test_every_coded_efi_deficit_has_a_reference_set() -> None:
    coded = {deficit.id for deficit in load_frailty_index().deficits if deficit.codes}
    assert coded == set(EFI_REFERENCE_SETS)


@pytest.mark.parametrize("deficit_id", sorted(EFI_REFERENCE_SETS))
def test_efi_codes_overlap_gm_sde(deficit_id: str) -> None:
    ours = _snomed(load_frailty_index().deficit(deficit_id).codes)
    reference = _reference_codes(EFI_REFERENCE_SETS[deficit_id])
    assert ours & reference, deficit_id
    # US-extension and Synthea-only codes aside, most of our codes are in the eFI reference set.
    assert len(ours & reference) >= 0.5 * len(ours), sorted(ours - reference)


def test_social_needs_overlap_gm_sde() -> None:
    needs = {need.id: _snomed(need.codes) for need in load_social_needs()}
    assert needs["lives_alone"] & _reference_codes("patient--efi-social-vulnerability")
    assert needs["housebound"] & _reference_codes("patient--efi-housebound")
    assert needs["is_carer"] & _reference_codes("patient--carer")
    assert needs["has_carer"] & _reference_codes("patient--efi-care-requirement")
