"""Clinical constants that used to live in code: key measurements, active clinical statuses, social
need features. Each now comes from reviewed data, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from careweave.terminology import (
    LOINC,
    SNOMED,
    SOCIAL_NEED_FEATURES,
    WORKLIST_FEATURES,
    TerminologyError,
    load_active_clinical_statuses,
    load_key_measurements,
    load_monitoring_requirements,
    load_social_needs,
)
from careweave.terminology.loaders import CONDITIONS_FILE, KEY_MEASUREMENTS_FILE


def _copy(tmp_path: Path, source: Path, data: dict[str, Any]) -> Path:
    target = tmp_path / source.name
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def test_every_hba1c_code_that_counts_as_monitoring_shows_as_a_trend() -> None:
    # Regression: 1019431000000105 (DCCT-aligned) and 43396009 counted as HbA1c monitoring but the
    # summary's own code list left them out, so those readings never appeared as a trend.
    hba1c = {m.id: m for m in load_key_measurements()}["hba1c"]
    assert {(SNOMED, "1019431000000105"), (SNOMED, "43396009")} <= hba1c.codes
    assert (LOINC, "17856-6") in hba1c.codes  # its own codes are kept as well


def test_a_measurement_shows_every_code_of_the_monitoring_it_names() -> None:
    by_name: dict[str, set[tuple[str, str]]] = {}
    for requirement in load_monitoring_requirements():
        by_name.setdefault(requirement.name, set()).update(requirement.observation_codes)
    measurements = load_key_measurements()
    assert [m.id for m in measurements] == ["systolic", "diastolic", "hba1c", "egfr", "weight"]
    for measurement in measurements:
        for name in measurement.monitoring:
            assert by_name[name] <= measurement.codes, (measurement.id, name)
    named = {name for m in measurements for name in m.monitoring}
    assert {"HbA1c", "eGFR"} <= named


def test_no_code_is_shown_under_two_measurements() -> None:
    seen: dict[tuple[str, str], str] = {}
    for measurement in load_key_measurements():
        for code in measurement.codes:
            assert code not in seen, (code, seen.get(code), measurement.id)
            seen[code] = measurement.id


def test_an_unknown_monitoring_name_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(KEY_MEASUREMENTS_FILE.read_text(encoding="utf-8"))
    data["measurements"][2]["monitoring"] = ["Haemoglobin A1c"]
    with pytest.raises(TerminologyError, match=r"measurements\[2\]\(hba1c\)\.monitoring: unknown"):
        load_key_measurements(_copy(tmp_path, KEY_MEASUREMENTS_FILE, data))


def test_merging_monitoring_that_another_measurement_shows_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(KEY_MEASUREMENTS_FILE.read_text(encoding="utf-8"))
    data["measurements"][4]["monitoring"] = ["HbA1c"]  # weight would claim the HbA1c codes
    with pytest.raises(TerminologyError, match=r"measurements\[4\]\(weight\)"):
        load_key_measurements(_copy(tmp_path, KEY_MEASUREMENTS_FILE, data))


def test_active_clinical_statuses_come_from_the_condition_library() -> None:
    assert load_active_clinical_statuses() == ("active", "recurrence", "relapse")


def test_an_active_status_that_is_not_a_fhir_code_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(CONDITIONS_FILE.read_text(encoding="utf-8"))
    data["active_clinical_statuses"]["statuses"].append("current")
    with pytest.raises(TerminologyError, match=r"active_clinical_statuses\.statuses: .*current"):
        load_active_clinical_statuses(_copy(tmp_path, CONDITIONS_FILE, data))


def test_an_uncited_excluded_code_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(CONDITIONS_FILE.read_text(encoding="utf-8"))
    del data["excluded_codes"][0]["sources"]
    with pytest.raises(TerminologyError, match=r"conditions.yaml: excluded_codes\[0\]: .*sources"):
        load_active_clinical_statuses(_copy(tmp_path, CONDITIONS_FILE, data))


def test_social_need_features_are_needs_of_the_library_and_worklist_features() -> None:
    ids = [need.id for need in load_social_needs()]
    assert set(SOCIAL_NEED_FEATURES) <= set(ids)
    assert len(set(SOCIAL_NEED_FEATURES)) == len(SOCIAL_NEED_FEATURES)
    assert all(WORKLIST_FEATURES[name] is bool for name in SOCIAL_NEED_FEATURES)
