"""The monitoring schedule loaders (monitoring.yaml, drug_monitoring.yaml): what they hold, and
copies with a defect refused naming the file, the entry and the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from careweave.terminology import TerminologyError, validate_reviewed_file
from careweave.terminology.loading.drug_monitoring import DRUG_MONITORING_FILE, load_monitoring_schedules
from careweave.terminology.loading.monitoring import load_condition_schedules
from careweave.terminology.loading.schedules import Interval

MONITORING_FILE = DRUG_MONITORING_FILE.parent / "monitoring.yaml"


def _copy(tmp_path: Path, source: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_the_schedules_hold_the_cited_intervals() -> None:
    rules = {rule.id: rule for rule in load_monitoring_schedules().rules}
    assert rules["diabetes_hba1c"].interval == Interval(6, "month")
    assert rules["heart_failure_renal"].interval == Interval(6, "month")
    assert rules["lithium_level"].by_stage[0].started_within_months == 12
    assert rules["lithium_level"].by_stage[0].interval == Interval(3, "month")
    assert rules["warfarin_inr"].interval == Interval(12, "week")
    assert {rules[f"lithium_bloods.{c}"].check.id for c in ("renal_function", "tsh", "calcium")} == {
        "renal_function",
        "tsh",
        "calcium",
    }
    for rule in rules.values():
        assert rule.sources, rule.id
    ckd = rules["ckd_egfr"]
    assert [row.interval.count for row in ckd.rows] == [3, 4, 6, 6, 12]


def test_the_drug_file_is_reviewed_data() -> None:
    document = validate_reviewed_file(DRUG_MONITORING_FILE)
    assert document.schema == "careweave.terminology.drug_monitoring/1"


def test_interval_windows_and_due_dates() -> None:
    six = Interval(6, "month")
    assert six.window_start(dt.date(2024, 3, 31)) == dt.date(2023, 9, 30)
    assert six.overdue_from(dt.date(2023, 9, 14)) == dt.date(2024, 3, 14)
    assert six.overdue_from(dt.date(2023, 8, 31)) == dt.date(2024, 3, 1)
    assert Interval(12, "week").overdue_from(dt.date(2024, 1, 1)) == dt.date(2024, 3, 25)
    assert Interval(1, "month").text == "every month" and six.text == "every 6 months"


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda d: d["requirements"][0].update(medicine_class="lithum"), ("lithium_level", "medicine_class", "lithum")),
        (lambda d: d["requirements"][0].update(checks=["lithium_levl"]), ("lithium_level", "checks", "lithium_levl")),
        (lambda d: d["requirements"][0].pop("sources"), ("lithium_level", "sources")),
        (lambda d: d["requirements"][0].update(interval_weeks=4), ("lithium_level", "exactly one of")),
        (
            lambda d: d["requirements"][6]["by_stage"][0].update(when={"doac_renal_band": ["from_10"]}),
            ("doac_renal", "by_stage[0]", "from_10"),
        ),
    ],
)
def test_a_defective_drug_file_is_refused(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], fragments: tuple[str, ...]
) -> None:
    path = _copy(tmp_path, DRUG_MONITORING_FILE, mutate)
    with pytest.raises(TerminologyError) as raised:
        load_monitoring_schedules(path)
    message = str(raised.value)
    assert message.startswith("drug_monitoring.yaml: "), message
    for fragment in fragments:
        assert fragment in message, message


def test_a_monitoring_file_naming_an_unknown_stage_band_is_refused(tmp_path: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        ckd = next(r for r in data["requirements"] if r["id"] == "ckd_egfr")
        ckd["by_stage"][0]["when"] = {"gfr_category": ["g6"]}

    with pytest.raises(TerminologyError, match=r"monitoring.yaml: .*ckd_egfr.*by_stage\[0\].*g6"):
        load_condition_schedules(_copy(tmp_path, MONITORING_FILE, mutate))
