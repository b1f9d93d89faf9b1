"""review_planning.yaml is read against both monitoring schedule files: a check that is neither a
laboratory test nor a review check, or a condition or drug with no clinician type, refuses the file
(naming it and the field), so nothing due can silently drop out of the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from careweave.terminology import TerminologyError
from careweave.terminology.loading.reviews import REVIEW_PLANNING_FILE, load_review_planning


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    text = REVIEW_PLANNING_FILE.read_text()
    assert old in text
    target = tmp_path / "review_planning.yaml"
    target.write_text(text.replace(old, new, 1))
    return target


def test_the_packaged_file_places_every_check_and_subject() -> None:
    planning = load_review_planning()
    assert planning.test_of_check["egfr"] == planning.test_of_check["renal_function"] == "u_and_e"
    assert planning.clinician_by_subject["lithium_monitored"] == "pharmacist"
    assert (planning.horizon_weeks, planning.tolerance_months, planning.phlebotomy_working_days) == (12, 3, 5)


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        ("    checks: [cholesterol]\n", "    checks: [hba1c]\n", "laboratory_tests[2](lipids).checks", "already under"),
        ("  - id: bmi\n    sources: [gpn_ten_point]\n", "", "laboratory_tests", "bmi are neither"),
        ("    warfarin: {type: pharmacist, sources: [des_smr]}\n", "", "clinician_types.by_subject", "warfarin"),
        ("    diabetes: {type: nurse,", "    diabetes: {type: dietitian,", "by_subject.diabetes.type", "dietitian"),
        ("  horizon_weeks: 12\n", "  horizon_weeks: 20\n", "planning.horizon_weeks", "tolerance window"),
        ("    need: interpreter\n", "    need: wheelchair\n", "double_slot_when[4](interpreter).need", "wheelchair"),
    ],
)
def test_a_gap_or_bad_value_refuses_the_file(tmp_path: Path, old: str, new: str, where: str, says: str) -> None:
    with pytest.raises(TerminologyError) as caught:
        load_review_planning(_copy(tmp_path, old, new))
    assert caught.value.file.endswith("review_planning.yaml")
    assert where in caught.value.path and says in caught.value.message
