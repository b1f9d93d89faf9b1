"""The packaged terminology data loads, is complete and says what the published sources say."""

from __future__ import annotations

import pytest

from careweave.terminology import (
    SNOMED,
    load_condition_library,
    load_fall_codes,
    load_frailty_index,
    load_medicine_classes,
    load_monitoring_requirements,
    load_social_needs,
    load_worklist_rules,
)

# Payne et al. CMAJ 2020, simplified 20-condition score, general-outcome weights. Anxiety and
# depression are one CMS item.
CMS_GENERAL_WEIGHTS = {
    "alcohol_problems": 0.65,
    "anxiety_or_depression": 0.50,
    "asthma": 0.19,
    "atrial_fibrillation": 1.34,
    "cancer": 1.53,
    "chronic_kidney_disease": 0.53,
    "connective_tissue_disorders": 0.43,
    "copd": 1.46,
    "coronary_heart_disease": 0.49,
    "dementia": 2.50,
    "diabetes": 0.75,
    "epilepsy": 0.92,
    "hearing_loss": 0.09,
    "heart_failure": 1.18,
    "hypertension": 0.08,
    "irritable_bowel_syndrome": 0.21,
    "painful_condition": 0.92,
    "schizophrenia_bipolar": 0.64,
    "stroke_tia": 0.80,
    "treated_constipation": 1.12,
}

BARNETT_40 = {
    "hypertension", "depression", "painful_condition", "asthma", "coronary_heart_disease",
    "treated_dyspepsia", "diabetes", "thyroid_disorders", "connective_tissue_disorders", "hearing_loss",
    "copd", "anxiety", "irritable_bowel_syndrome", "cancer", "alcohol_problems", "substance_misuse",
    "treated_constipation", "stroke_tia", "chronic_kidney_disease", "diverticular_disease",
    "atrial_fibrillation", "peripheral_vascular_disease", "heart_failure", "prostate_disorders", "glaucoma",
    "epilepsy", "dementia", "schizophrenia_bipolar", "psoriasis_eczema", "inflammatory_bowel_disease",
    "migraine", "blindness_low_vision", "chronic_sinusitis", "learning_disability", "anorexia_bulimia",
    "bronchiectasis", "parkinsons_disease", "multiple_sclerosis", "viral_hepatitis", "chronic_liver_disease",
}  # fmt: skip

# Ho et al. BMJ Medicine 2022, Table 4: the 24 conditions to always include.
HO_ALWAYS_24 = {
    "Stroke", "Coronary artery disease", "Heart failure", "Peripheral artery disease", "Diabetes",
    "Addison's disease", "Cystic fibrosis", "Chronic obstructive pulmonary disease", "Asthma",
    "Parkinson's disease", "Epilepsy", "Multiple sclerosis", "Paralysis (other than stroke)",
    "Solid organ cancers", "Haematological cancers", "Metastatic cancers", "Dementia", "Schizophrenia",
    "Connective tissue disease", "Chronic liver disease", "Inflammatory bowel disease",
    "Chronic kidney disease", "End stage kidney disease", "HIV/AIDS",
}  # fmt: skip


def test_every_file_loads() -> None:
    assert load_condition_library().conditions
    assert load_medicine_classes()
    assert load_frailty_index().deficits
    assert load_social_needs()
    assert load_worklist_rules()
    assert load_monitoring_requirements()


def test_every_condition_has_codes_and_sources() -> None:
    for condition in load_condition_library().conditions:
        assert condition.codes, condition.id
        assert condition.sources, condition.id
        assert all(source.strip() for source in condition.sources)


def test_version_carries_the_content_hash() -> None:
    version = load_condition_library().version
    file_version, content_hash = version.split("+")
    assert file_version and len(content_hash) == 12


def test_cms_weights_match_payne_2020() -> None:
    library = load_condition_library()
    weighted = [condition for condition in library.conditions if condition.cms_weight is not None]
    by_item: dict[str, set[float]] = {}
    for condition in weighted:
        by_item.setdefault(condition.cms_component or condition.id, set()).add(condition.cms_weight or 0.0)
    assert {item: weights.pop() for item, weights in by_item.items()} == CMS_GENERAL_WEIGHTS
    assert len(by_item) == 20
    assert {c.id for c in weighted if c.cms_component} == {"anxiety", "depression"}


def test_cms_score_counts_anxiety_and_depression_once() -> None:
    library = load_condition_library()
    assert library.cms_score(["anxiety", "depression"]) == pytest.approx(0.50)
    assert library.cms_score(["dementia", "heart_failure", "hypertension"]) == pytest.approx(3.76)
    assert library.cms_score(["glaucoma"]) == 0


def test_barnett_40_present() -> None:
    library = load_condition_library()
    barnett = {condition.id for condition in library.conditions if condition.in_barnett}
    assert barnett == BARNETT_40


def test_ho_always_include_present() -> None:
    library = load_condition_library()
    items = [item for condition in library.conditions for item in condition.ho_always_items]
    assert len(items) == len(set(items))
    assert set(items) == HO_ALWAYS_24
    assert all(condition.in_ho_always == bool(condition.ho_always_items) for condition in library.conditions)


def test_medicine_rules() -> None:
    library = load_condition_library()
    pain = library.by_id("painful_condition").medicine_rule
    assert pain is not None and pain.min_issues == 4 and pain.window_days == 365
    assert "epilepsy" in pain.without_conditions
    dyspepsia = library.by_id("treated_dyspepsia")
    assert dyspepsia.requires == "medicine" and dyspepsia.medicine_rule is not None
    assert dyspepsia.medicine_rule.classes == ("ppi_h2_antagonists",)
    assert library.by_id("cancer").diagnosis_window_days == 1826
    assert library.by_id("asthma").requires == "diagnosis_and_medicine"


def test_conditions_for_code() -> None:
    library = load_condition_library()
    assert library.conditions_for_code(SNOMED, "44054006") == ("diabetes",)
    assert set(library.conditions_for_code(SNOMED, "41309000")) == {
        "alcohol_problems",
        "chronic_liver_disease",
    }
    assert library.conditions_for_code(SNOMED, "15777000") == ()
    with pytest.raises(KeyError):
        library.by_id("no_such_condition")


def test_synthetic_generator_codes_map() -> None:
    library = load_condition_library()
    expected = {
        "38341003": "hypertension", "44054006": "diabetes", "195967001": "asthma", "13645005": "copd",
        "84114007": "heart_failure", "49436004": "atrial_fibrillation", "433144002": "chronic_kidney_disease",
        "35489007": "depression", "197480006": "anxiety", "52448006": "dementia", "396275006": "osteoarthritis",
        "53741008": "coronary_heart_disease", "230690007": "stroke_tia", "40930008": "thyroid_disorders",
        "69896004": "connective_tissue_disorders", "84757009": "epilepsy", "58214004": "schizophrenia_bipolar",
        "13746004": "schizophrenia_bipolar", "400047006": "peripheral_vascular_disease",
        "49049000": "parkinsons_disease", "64859006": "osteoporosis", "110359009": "learning_disability",
        "82423001": "painful_condition",
        "46635009": "diabetes",
        "24526004": "inflammatory_bowel_disease",
        "254837009": "cancer",
        "399068003": "cancer",
        "363406005": "cancer",
        "93880001": "cancer",
        "90560007": "gout",
    }  # fmt: skip
    for code, condition_id in expected.items():
        assert condition_id in library.conditions_for_code(SNOMED, code), code


def test_frailty_index() -> None:
    efi = load_frailty_index()
    assert len(efi.deficits) == 36
    assert [name for name, _, _ in efi.categories] == ["fit", "mild", "moderate", "severe"]
    assert efi.category(0.0) == "fit"
    assert efi.category(0.12) == "fit"
    assert efi.category(0.13) == "mild"
    assert efi.category(0.24) == "mild"
    assert efi.category(0.25) == "moderate"
    assert efi.category(0.36) == "moderate"
    assert efi.category(0.37) == "severe"
    assert efi.category(1.0) == "severe"
    assert efi.category(5 / 36) == "mild"
    assert efi.category(9 / 36) == "moderate"
    assert efi.category(13 / 36) == "severe"
    polypharmacy = efi.deficit("polypharmacy")
    assert polypharmacy.min_distinct_medicines == 5 and not polypharmacy.codes
    assert all(deficit.codes for deficit in efi.deficits if deficit.id != "polypharmacy")
    assert (SNOMED, "1912002") in load_fall_codes()


def test_social_needs_cover_the_worklist_features() -> None:
    needs = {need.id: need for need in load_social_needs()}
    for feature in (
        "lives_alone", "housebound", "is_carer", "has_carer", "social_care_package",
        "housing_problem", "financial_hardship", "social_isolation",
    ):  # fmt: skip
        assert needs[feature].codes and needs[feature].sources
    assert (SNOMED, "105529008") in needs["lives_alone"].codes
    assert (SNOMED, "160689007") in needs["housebound"].codes
    assert (SNOMED, "422650009") in needs["social_isolation"].codes


def test_worklist_rules() -> None:
    rules = {rule.id: rule for rule in load_worklist_rules()}
    for rule_id in (
        "care_coordination",
        "medicines_review",
        "mdt_discussion",
        "overdue_monitoring",
        "recently_discharged",
    ):
        assert rules[rule_id].sources and rules[rule_id].criteria
    unplanned = next(c for c in rules["care_coordination"].criteria if c.feature == "unplanned_contacts_12m")
    assert unplanned.evaluate(3) and not unplanned.evaluate(2) and not unplanned.evaluate(None)
    assert unplanned.explain(4) == "4 emergency admissions or A&E attendances in the last 12 months"
    severe = next(c for c in rules["mdt_discussion"].criteria if c.feature == "efi_category")
    assert severe.evaluate("severe") and not severe.evaluate("moderate")
    discharged = rules["recently_discharged"].criteria[0]
    assert discharged.evaluate(True) and not discharged.evaluate(False)


def test_monitoring_requirements() -> None:
    requirements = load_monitoring_requirements()
    diabetes = {r.name: r for r in requirements if r.condition_id == "diabetes"}
    assert diabetes["HbA1c"].interval_days == 183  # NICE NG28: 6-monthly (monitoring.yaml)
    assert ("http://loinc.org", "4548-4") in diabetes["HbA1c"].observation_codes
    assert {r.condition_id for r in requirements} >= {"diabetes", "chronic_kidney_disease", "hypertension"}


def test_medicine_classes_match_by_code_or_ingredient() -> None:
    classes = {item.id: item for item in load_medicine_classes()}
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    assert classes["statins"].matches(rxnorm, "316672", "Simvistatin 10 MG")
    assert classes["ppi_h2_antagonists"].matches(None, None, "Omeprazole 20mg gastro-resistant capsules")
    assert not classes["ppi_h2_antagonists"].matches(None, None, "Paracetamol 500mg tablets")
    assert classes["ppi_h2_antagonists"].matches("https://dmd.nhs.uk", "317291008", None)
    assert classes["opioids"].matches(None, None, "co-codamol 30mg/500mg tablets")
    assert not classes["antiplatelets"].matches(None, None, "Aspirin 300mg dispersible tablets")
    referenced = {
        name
        for condition in load_condition_library().conditions
        if condition.medicine_rule
        for name in condition.medicine_rule.classes
    }
    assert referenced <= set(classes)
