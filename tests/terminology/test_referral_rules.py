"""The reviewed referral rules: the transition table and its checks on the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from careweave.terminology import TerminologyError
from careweave.terminology.referrals import REFERRAL_RULES_FILE, load_referral_rules


def test_the_workflow_moves_forward_only() -> None:
    rules = load_referral_rules()
    assert rules.transition_error("requested", "received") is None
    assert rules.transition_error("accepted", "in-progress") is None
    assert rules.transition_error(None, "completed") is None  # a sender may send only its latest state
    assert rules.transition_error("completed", "completed") is None  # sent again unchanged
    assert "completed cannot become accepted" in (rules.transition_error("completed", "accepted") or "")
    assert "rejected cannot become in-progress" in (rules.transition_error("rejected", "in-progress") or "")
    assert "not a referral business status" in (rules.transition_error("accepted", "triaged") or "")


def test_every_finding_and_the_transitions_are_cited() -> None:
    rules = load_referral_rules()
    assert set(rules.sources) == {"loop", "lost", "did_not_attend", "no_outcome", "validation", "states"}
    assert all(rules.sources.values())
    assert rules.default_wait_days == 18 * 7
    assert rules.milestone_days == (12 * 7, 26 * 7, 52 * 7)


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = REFERRAL_RULES_FILE.read_text()
    assert old in text
    file = tmp_path / "referral_rules.yaml"
    file.write_text(text.replace(old, new, 1))
    return file


def test_an_unknown_state_in_a_transition_names_the_entry(tmp_path: Path) -> None:
    file = _edited(tmp_path, "to: [received, accepted, rejected, cancelled]", "to: [received, triaged]")
    with pytest.raises(TerminologyError) as raised:
        load_referral_rules(file)
    assert raised.value.path == "transitions[0].to"
    assert "triaged" in raised.value.message


def test_a_finding_without_a_citation_is_refused(tmp_path: Path) -> None:
    file = _edited(
        tmp_path,
        "    letter_days: 28\n    sources: [nhs_discharge_letter, hl7_bser]\n",
        "    letter_days: 28\n",
    )
    with pytest.raises(TerminologyError) as raised:
        load_referral_rules(file)
    assert "no_outcome" in raised.value.path
