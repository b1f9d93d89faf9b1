"""Every automated flag has a hazard-log entry (docs/safety/hazard-log.yaml), rated DCB0129 style."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import careweave
from careweave.terminology import Document, load_worklist_rules

HAZARD_LOG = Path(careweave.__file__).resolve().parents[2] / "docs" / "safety" / "hazard-log.yaml"
OTHER_FLAGS = frozenset(
    {
        "frailty_category",
        "register_inclusion",
        "cluster_assignment",
        "overdue_monitoring",
        "social_need",
        "key_measurement",
        "register_exclusion",
        # issue 15: referral tracking (careweave referrals scan)
        "referral_loop",
        "referral_lost",
        "referral_no_outcome",
        "referral_validation_due",
        # issue 10, item 4: the worklists' priority score and clinicians' removals with a review date
        "worklist_priority",
        "worklist_removal",
        # issue 10, items 6 and 7: unit conversion; allergies and alerts on the summary
        "unit_conversion",
        "allergy_status",
        "alert_flag",
    }
)
FIELDS = ("id", "flag", "hazard", "causes", "effect", "controls", "initial", "residual", "actions", "owner")

# DCB0129 risk matrix: RISK[likelihood][severity], both 1-5.
RISK = {
    5: (3, 4, 4, 5, 5),
    4: (2, 3, 3, 4, 5),
    3: (2, 2, 3, 3, 4),
    2: (1, 2, 2, 3, 4),
    1: (1, 1, 2, 2, 3),
}


def _hazards() -> list[tuple[str, dict[str, Any]]]:
    document = Document(HAZARD_LOG, "careweave.safety.hazard_log/1")
    document.check_root_keys(("hazards",))
    hazards = document.entries("hazards")
    for path, entry in hazards:
        document.keys(entry, path, (*FIELDS, "sources"))
        document.sources(entry, path)
    return hazards


def test_every_worklist_rule_has_a_hazard_entry() -> None:
    flags = {entry["flag"] for _path, entry in _hazards()}
    missing = {rule.id for rule in load_worklist_rules()} - flags
    assert not missing, f"worklist rules without a hazard-log entry: {sorted(missing)}"


def test_every_other_automated_flag_has_a_hazard_entry() -> None:
    flags = {entry["flag"] for _path, entry in _hazards()}
    assert flags >= OTHER_FLAGS


def test_every_entry_names_a_known_flag() -> None:
    known = {rule.id for rule in load_worklist_rules()} | OTHER_FLAGS
    for path, entry in _hazards():
        assert entry["flag"] in known, path


@pytest.mark.parametrize("stage", ["initial", "residual"])
def test_ratings_follow_the_dcb0129_matrix(stage: str) -> None:
    for path, entry in _hazards():
        rating = entry[stage]
        severity, likelihood = rating["severity"], rating["likelihood"]
        assert severity in range(1, 6) and likelihood in range(1, 6), path
        assert rating["risk"] == RISK[likelihood][severity - 1], f"{path}.{stage}"
        assert entry["causes"] and entry["controls"] and entry["owner"], path


def test_residual_risk_is_never_above_the_initial_risk() -> None:
    for path, entry in _hazards():
        assert entry["residual"]["risk"] <= entry["initial"]["risk"], path
