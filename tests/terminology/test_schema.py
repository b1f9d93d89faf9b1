"""Malformed data files are refused with a TerminologyError naming the file and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from careweave.terminology import (
    TerminologyError,
    load_condition_library,
    load_frailty_index,
    load_medicine_classes,
    load_monitoring_requirements,
    load_social_needs,
    load_worklist_rules,
)
from careweave.terminology.loaders import (
    CONDITIONS_FILE,
    FRAILTY_FILE,
    MEDICINE_CLASSES_FILE,
    MONITORING_FILE,
    SOCIAL_NEEDS_FILE,
    WORKLIST_RULES_FILE,
)

Mutation = Callable[[dict[str, Any]], None]


def _write(tmp_path: Path, source: Path, mutate: Mutation) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    mutate(data)
    target = tmp_path / source.name
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def _conditions(tmp_path: Path, mutate: Mutation) -> None:
    load_condition_library(_write(tmp_path, CONDITIONS_FILE, mutate))


def _refused(load: Callable[[], object], *fragments: str) -> TerminologyError:
    with pytest.raises(TerminologyError) as raised:
        load()
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, message
    return raised.value


def test_a_valid_copy_loads(tmp_path: Path) -> None:
    library = load_condition_library(_write(tmp_path, CONDITIONS_FILE, lambda data: None))
    assert len(library.conditions) == len(load_condition_library().conditions)
    # Same content, same version: the version is the file's version plus a content hash.
    assert library.version.split("+")[0] == load_condition_library().version.split("+")[0]


def test_missing_sources(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        del data["conditions"][0]["sources"]

    error = _refused(lambda: _conditions(tmp_path, mutate), "conditions.yaml", "sources", "hypertension")
    assert error.file.endswith("conditions.yaml")
    assert error.path.startswith("conditions[0]")


def test_empty_sources(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][1]["sources"] = []

    _refused(lambda: _conditions(tmp_path, mutate), "conditions.yaml", "conditions[1](depression).sources")


def test_unknown_reference(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][0]["sources"].append("wikipedia")

    _refused(lambda: _conditions(tmp_path, mutate), "unknown reference", "wikipedia")


def test_unknown_key(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][2]["colour"] = "red"

    _refused(
        lambda: _conditions(tmp_path, mutate), "conditions.yaml", "conditions[2](painful_condition)", "colour"
    )


def test_duplicate_code_within_a_condition(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        snomed = data["conditions"][0]["codes"]["snomed"]
        snomed.append(snomed[0])

    _refused(
        lambda: _conditions(tmp_path, mutate), "conditions.yaml", "codes.snomed", "duplicate code 38341003"
    )


def test_excluded_code_that_is_also_mapped(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["excluded_codes"].append(
            {"system": "snomed", "code": "38341003", "display": "x", "reason": "y", "sources": ["barnett2012"]}
        )

    _refused(lambda: _conditions(tmp_path, mutate), "excluded_codes", "duplicate code 38341003")


def test_missing_review_header(tmp_path: Path) -> None:
    _refused(
        lambda: _conditions(tmp_path, lambda data: data.pop("checked_by")), "conditions.yaml", "checked_by"
    )


def test_unknown_medicine_class(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][1]["medicine_rule"]["classes"] = ["happy_pills"]

    _refused(lambda: _conditions(tmp_path, mutate), "medicine_rule.classes", "happy_pills")


def test_unknown_without_condition(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][2]["medicine_rule"]["without_conditions"] = ["epilepsey"]

    _refused(lambda: _conditions(tmp_path, mutate), "without_conditions", "epilepsey")


def test_condition_without_codes(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][0]["codes"] = {"snomed": []}

    _refused(lambda: _conditions(tmp_path, mutate), "hypertension", "at least one code")


def test_bad_snomed_identifier(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][0]["codes"]["snomed"].append("HYP |Hypertension|")

    _refused(lambda: _conditions(tmp_path, mutate), "not a SNOMED CT identifier")


def test_medicine_rule_must_match_requires(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][0]["requires"] = "diagnosis_and_medicine"

    _refused(lambda: _conditions(tmp_path, mutate), "hypertension", "medicine_rule")


def test_duplicate_condition_id(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["conditions"][1]["id"] = "hypertension"

    _refused(lambda: _conditions(tmp_path, mutate), "duplicate id 'hypertension'")


def test_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "conditions.yaml"
    path.write_text("conditions: [unclosed\n", encoding="utf-8")
    _refused(lambda: load_condition_library(path), "conditions.yaml", "not valid YAML")


def test_medicine_class_missing_source(tmp_path: Path) -> None:
    path = _write(tmp_path, MEDICINE_CLASSES_FILE, lambda data: data["medicine_classes"][0].pop("sources"))
    _refused(lambda: load_medicine_classes(path), "medicine_classes.yaml", "analgesics", "sources")


def test_medicine_class_uppercase_ingredient(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        MEDICINE_CLASSES_FILE,
        lambda data: data["medicine_classes"][0]["ingredients"].append("Aspirin"),
    )
    _refused(lambda: load_medicine_classes(path), "ingredients", "lowercase")


def test_frailty_duplicate_code_across_deficits(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["deficits"][1]["codes"]["snomed"].append(data["deficits"][0]["codes"]["snomed"][0])

    path = _write(tmp_path, FRAILTY_FILE, mutate)
    _refused(lambda: load_frailty_index(path), "frailty_index.yaml", "duplicate code 21134002")


def test_frailty_categories_must_be_contiguous(tmp_path: Path) -> None:
    path = _write(tmp_path, FRAILTY_FILE, lambda data: data["categories"][1].update(lower_exclusive=0.13))
    _refused(lambda: load_frailty_index(path), "categories[1]", "contiguous")


def test_social_need_unknown_key(tmp_path: Path) -> None:
    path = _write(tmp_path, SOCIAL_NEEDS_FILE, lambda data: data["social_needs"][0].update(severity="high"))
    _refused(lambda: load_social_needs(path), "social_needs.yaml", "lives_alone", "severity")


def test_worklist_unknown_feature(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["rules"][0]["criteria"][0]["feature"] = "happiness"

    path = _write(tmp_path, WORKLIST_RULES_FILE, mutate)
    _refused(lambda: load_worklist_rules(path), "worklist_rules.yaml", "criteria[0].feature", "happiness")


def test_worklist_bad_reason_template(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["rules"][0]["criteria"][3]["reason"] = "{n} admissions"

    path = _write(tmp_path, WORKLIST_RULES_FILE, mutate)
    _refused(lambda: load_worklist_rules(path), "reason", "template")


def test_worklist_numeric_operator_needs_a_number(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["rules"][0]["criteria"][3]["value"] = "three"

    path = _write(tmp_path, WORKLIST_RULES_FILE, mutate)
    _refused(lambda: load_worklist_rules(path), "numeric")


def test_worklist_rule_missing_source(tmp_path: Path) -> None:
    path = _write(tmp_path, WORKLIST_RULES_FILE, lambda data: data["rules"][1].pop("sources"))
    _refused(lambda: load_worklist_rules(path), "worklist_rules.yaml", "medicines_review", "sources")


def test_monitoring_unknown_condition(tmp_path: Path) -> None:
    path = _write(
        tmp_path, MONITORING_FILE, lambda data: data["requirements"][0].update(condition_id="diabetis")
    )
    _refused(lambda: load_monitoring_requirements(path), "monitoring.yaml", "condition_id", "diabetis")
