"""The structured medication review list is ranked by findings: the worklist features count each
person's findings (as the review prints them), their high-severity findings and the ACB total; a
person on a high-risk combination ranks above one on 10 medicines with nothing else flagged, and
someone with no finding and under 10 medicines is not on the list."""

from __future__ import annotations

import pyarrow as pa

from careweave.population.medicines.worklist import with_medicines_features, worklist_features
from careweave.population.worklists import compute_worklists
from careweave.terminology import load_worklist_rules
from tests.medicines.cases import AS_OF, Case, months

RECENT = months(1)


def _case() -> Case:
    case = Case()
    # 1: 92, apixaban, aspirin and naproxen: PINCER a, d, e (high)
    case.person(1, 92).med(1, "Apixaban 5mg tablets", RECENT).med(
        1, "Aspirin 75mg dispersible tablets", RECENT
    )
    case.med(1, "Naproxen 500mg tablets", RECENT)
    # 2: 10 medicines, nothing else: POLYPHARMACY only (medium)
    case.person(2, 70)
    for index in range(10):
        case.med(2, f"Medicine{chr(97 + index)} 10mg tablets", RECENT)
    # 3: amitriptyline and oxybutynin: ACB 6
    case.person(3, 60).med(3, "Amitriptyline 10mg tablets", RECENT).med(3, "Oxybutynin 5mg tablets", RECENT)
    # 4: one statin: nothing
    case.person(4, 60).med(4, "Atorvastatin 20mg tablets", RECENT)
    return case


def test_features_count_the_printed_findings() -> None:
    case = _case()
    features = {r["person_id"]: r for r in worklist_features(case.inputs(), AS_OF).to_pylist()}
    findings = case.findings()
    for pid in (1, 2, 3):
        mine = [f for f in findings if f.person_id == pid]
        assert features[pid]["medicines_findings"] == len(mine)
        assert features[pid]["medicines_high_findings"] == sum(f.severity == "high" for f in mine)
    assert features[1]["medicines_high_findings"] >= 3
    assert features[3]["acb_total"] == 6
    assert 4 not in features


def test_the_list_is_ranked_by_findings() -> None:
    case = _case()
    people = pa.table(
        {
            "person_id": pa.array([1, 2, 3, 4], pa.int64()),
            "age": pa.array([92, 70, 60, 60], pa.int64()),
            "mltc": [True] * 4,
            "polypharmacy_10_plus": [False, True, False, False],
            "frailty_moderate_or_severe": [False] * 4,
            "care_home": [False] * 4,
        }
    )
    features = with_medicines_features(people, worklist_features(case.inputs(), AS_OF))
    rule = next(r for r in load_worklist_rules() if r.id == "medicines_review")
    listed = compute_worklists(features, [rule]).to_pylist()
    priority = {r["person_id"]: r["priority"] for r in listed}
    assert set(priority) == {1, 2, 3}
    assert priority[1] > priority[3] > priority[2]
    reasons = next(r["reasons"] for r in listed if r["person_id"] == 1)
    assert any("high-severity medicines finding" in reason for reason in reasons)
