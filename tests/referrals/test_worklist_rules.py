"""The worklist's ranking points, next steps and chase code are reviewed data (referral_rules.yaml),
loaded with the shared checks: a defective copy is refused naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from careweave.terminology import TerminologyError
from careweave.terminology.referrals import REFERRAL_RULES_FILE, RULES, load_referral_rules


def test_the_ranking_and_next_steps_are_loaded_with_their_citations() -> None:
    rules = load_referral_rules()
    assert set(rules.ranking.finding_points) == {"loop", "lost", "no-outcome", "validation-due"}
    assert rules.ranking.frailty_points["severe"] > rules.ranking.frailty_points["fit"]
    assert set(rules.next_steps) >= set(RULES)
    assert rules.ranking.sources and rules.chase_code == "referral-chase"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["worklist_ranking"].pop("sources"), "worklist_ranking"),
        (lambda d: d["worklist_ranking"]["finding_points"].pop("loop"), "worklist_ranking.finding_points"),
        (lambda d: d["worklist_ranking"].__setitem__("max_week_points", -1), "worklist_ranking"),
        (lambda d: d["next_steps"].pop("milestone"), "next_steps"),
        (lambda d: d["next_steps"]["unbooked"].pop("sources"), "next_steps.unbooked"),
        (lambda d: d.pop("chase_task"), "chase_task"),
    ],
)
def test_a_defective_copy_is_refused_naming_the_file_and_field(tmp_path: Path, change: object, field: str) -> None:
    data = yaml.safe_load(REFERRAL_RULES_FILE.read_text())
    change(data)  # type: ignore[operator]
    copy = tmp_path / "referral_rules.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(TerminologyError) as refused:
        load_referral_rules(copy)
    assert str(refused.value).startswith("referral_rules.yaml: ") and field.split(".")[0] in str(refused.value)
