"""The clinical safety case: every automated flag has a hazard-log entry rated DCB0129 style, every
control names a test that exists, and the Markdown log is the one generated from the YAML."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from careweave.terminology import TerminologyError, hazard_log, load_worklist_rules
from careweave.terminology.hazard_log import MARKDOWN_PATH, RISK, YAML_PATH, load, render_markdown

REPO = YAML_PATH.parents[2]
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
        "referral_worklist_ranking",
        "referral_replaced",
        "referral_task_order",
        # issue 10, item 4: the worklists' priority score and clinicians' removals with a review date
        "worklist_priority",
        "worklist_removal",
        # issue 10, items 6 and 7: unit conversion; allergies and alerts on the summary
        "unit_conversion",
        "allergy_status",
        "alert_flag",
        # issue 14: the consolidated review planner (careweave reviews plan)
        "review_missed_item",
        "review_merge",
        # issue 17, item 3: the same test repeated at another organisation within the reviewed interval
        "duplicate_test",
        # issue 13: the medicines review (careweave medicines review)
        "medicines_pincer",
        "medicines_acb",
        "medicines_duplication",
        "medicines_polypharmacy",
        "medicines_stopp",
        # issue 17, items 1 and 4: questionnaire scores; the outcomes page's SPC signals and suppression
        "questionnaire_score",
        "outcome_special_cause",
        # issue 16: home readings and their alerts (ADR 0018)
        "home_reading_plausibility",
        "home_reading_threshold",
        "home_reading_trend",
        "home_reading_silence",
        "home_reading_reply",
        # issue 18: the channel choice for contacting a person, and the interpreter flag
        "contact_channel_choice",
        "interpreter_needed",
        # issue 14, items 4 and 5: the practice planner's weeks and the contact prompts
        "review_planner_week",
        "contact_prompt",
        # issue 13, items 3 and 6: decisions in the structured medication review; "why am I taking this"
        "medicines_continue_decision",
        "medicines_why_taking",
        # issue 13, item 2: drug-drug interactions (the ONC high-priority pairs)
        "medicines_ddi",
        # issue 13, item 5: reconciliation across admission and discharge
        "medicines_reconciliation",
    }
)


@cache
def _test_names(file: Path) -> frozenset[str]:
    tree = ast.parse(file.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    )


def test_every_worklist_rule_has_a_hazard_entry() -> None:
    flags = {hazard.flag for hazard in load().hazards}
    missing = {rule.id for rule in load_worklist_rules()} - flags
    assert not missing, f"worklist rules without a hazard-log entry: {sorted(missing)}"


def test_every_other_automated_flag_has_a_hazard_entry() -> None:
    flags = {hazard.flag for hazard in load().hazards}
    assert flags >= OTHER_FLAGS, sorted(OTHER_FLAGS - flags)


def test_every_entry_names_a_known_flag() -> None:
    known = {rule.id for rule in load_worklist_rules()} | OTHER_FLAGS
    unknown = {hazard.id: hazard.flag for hazard in load().hazards if hazard.flag not in known}
    assert not unknown


def test_every_control_names_a_test_that_exists() -> None:
    missing = []
    for hazard in load().hazards:
        for control in hazard.controls:
            file, _, name = control.test.partition("::")
            path = REPO / file
            if not path.is_file() or name.split("[")[0] not in _test_names(path):
                missing.append(f"{hazard.id}: {control.test}")
    assert not missing, "controls whose test does not exist:\n" + "\n".join(missing)


def test_the_markdown_log_is_generated_from_the_yaml() -> None:
    assert MARKDOWN_PATH.read_text(encoding="utf-8") == render_markdown(load()), (
        "docs/clinical-safety/hazard-log.md is out of date: "
        "uv run python -m careweave.terminology.hazard_log --write"
    )


def test_the_markdown_shows_each_hazard_with_its_controls_and_tests() -> None:
    log = load()
    text = render_markdown(log)
    for hazard in log.hazards:
        assert f"## {hazard.id}" in text
        for control in hazard.controls:
            assert f"`{control.test}`" in text


def test_the_matrix_is_dcb0129s() -> None:
    # Spot values of the DCB0129 matrix: catastrophic and very high is 5, minor and very low is 1.
    assert RISK[5][4] == 5 and RISK[1][0] == 1 and RISK[3][2] == 3 and RISK[1][4] == 3


def _write(tmp_path: Path, controls: str, risk: int = 3) -> Path:
    header = YAML_PATH.read_text(encoding="utf-8").split("\nhazards:")[0]
    body = f"""
hazards:
  - id: hz_example
    flag: overdue_monitoring
    hazard: Example.
    causes: [Example cause.]
    effect: Example effect.
    controls:
{controls}
    initial: {{severity: 3, likelihood: 3, risk: {risk}}}
    residual: {{severity: 3, likelihood: 2, risk: 2}}
    actions: []
    owner: Clinical safety officer
    sources: [dcb0129]
"""
    path = tmp_path / "hazard-log.yaml"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_a_control_without_its_test_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "      - A control with no test.")
    with pytest.raises(TerminologyError, match=r"hazards\[0\]\(hz_example\)\.controls\[0\]"):
        hazard_log.load(path)


def test_a_test_that_is_not_a_node_id_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "      - {control: A control., test: it is tested}")
    with pytest.raises(TerminologyError, match=r"controls\[0\]\.test"):
        hazard_log.load(path)


def test_a_risk_off_the_matrix_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "      - {control: A control., test: tests/x.py::test_y}", risk=5)
    with pytest.raises(TerminologyError, match=r"initial\.risk.*DCB0129 matrix"):
        hazard_log.load(path)


def test_the_command_reports_a_stale_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hazard_log, "MARKDOWN_PATH", tmp_path / "hazard-log.md")
    assert hazard_log.main(["--check"]) == 1
    assert hazard_log.main(["--write"]) == 0
    assert hazard_log.main(["--check"]) == 0
