"""Cluster descriptions from a small hand-built population, with expected values worked by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from careweave.population.cluster_description import (
    ClusterDescription,
    Indicator,
    Outcome,
    describe_clusters,
    load_lay_phrases,
)
from careweave.population.cluster_sentence import person_sentence, person_sentence_from_profile

NAN = math.nan
# Ten people in cluster 0, then ten in cluster 1.
CLUSTER = [0] * 10 + [1] * 10
AGE = [76, 80, 81, 77, 90, 85, 79, 78, 88, 60] + [40, 50, 55, 62, 35, 70, 45, 58, 66, 52]
SEX = list("FFFFFFFMMM") + ["female", "F", "f", "M", "male", "M", "m", "M", "M", "M"]
DEPRIVATION = [1, 1, 1, 1, 2, 3, 4, 5, 1, 2] + [1, 2, 3, 4, 5, 5, 4, 3, 2, 2]
INDICATORS = {
    "heart_failure": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "copd": [1, 1, 1, 0, 0, 1, 1, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0, 0, NAN],  # one unknown
    "living_alone": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0] + [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    "diabetes": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1] + [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
}
ADMISSIONS = [1, 2, 0, 1, 0, 3, 0, 1, 0, 0] + [0, 0, 1, 0, 0, 0, 0, 0, 0, 1]


def describe(**kwargs: Any) -> list[ClusterDescription]:
    described: list[ClusterDescription] = describe_clusters(
        np.array(CLUSTER),
        age=AGE,
        sex=SEX,
        deprivation_quintile=DEPRIVATION,
        indicators=INDICATORS,
        indicator_info={"copd": Indicator("copd", "COPD")},
        outcomes={"admissions": ADMISSIONS},
        outcome_info={"admissions": Outcome("admissions", "unplanned admissions", per=10)},
        **kwargs,
    )
    return described


def test_profiles_and_ratios_match_hand_calculation() -> None:
    c0, c1 = describe()
    assert (c0.size, c0.share, c1.size) == (10, 0.5, 10)
    assert c0.age_bands["75+"] == 0.9 and c1.age_bands["45–64"] == 0.6
    assert c0.female_share == 0.7 and c1.female_share == 0.3
    assert c0.deprivation_quintiles[1] == 0.5
    assert c0.most_deprived_ratio == pytest.approx(0.5 / 0.3)
    assert c1.most_deprived_ratio == pytest.approx(0.1 / 0.3)

    ratios0 = {r.key: r for r in c0.indicators}
    # heart failure: 6/10 in the cluster, 7/20 overall
    assert ratios0["heart_failure"].observed == 0.6
    assert ratios0["heart_failure"].expected == pytest.approx(0.35)
    assert ratios0["heart_failure"].ratio == pytest.approx(0.6 / 0.35)
    # COPD: unknown for one person, so 5/10 against 5/19 overall
    assert ratios0["copd"].ratio == pytest.approx(0.5 / (5 / 19))
    assert {r.key: r.observed for r in c1.indicators}["copd"] == 0.0
    assert ratios0["living_alone"].ratio == pytest.approx(0.5 / 0.3)
    assert ratios0["living_alone"].kind == "need"
    assert [r.key for r in c0.over_represented] == ["copd", "heart_failure", "living_alone"]
    assert [r.key for r in c1.over_represented] == ["diabetes"]
    assert c1.over_represented[0].ratio == pytest.approx(0.6 / 0.35)

    (adm0,) = c0.outcomes
    assert adm0.rate == pytest.approx(0.8) and adm0.overall_rate == pytest.approx(0.5)


def test_staff_and_lay_texts() -> None:
    c0, c1 = describe()
    assert c0.staff_description == (
        "10 people (50%), mostly aged 75+, mostly women, more often from the most deprived areas "
        "(1.7× the average), more often living alone (1.7×) with COPD (1.9×) and heart failure (1.7×); "
        "8.0 unplanned admissions per 10 people a year (average 5.0)."
    )
    assert c0.lay_sentence == (
        "Most people in this group are aged 75 or over, often live with lung and heart conditions "
        "and may live on their own."
    )
    assert c1.staff_description == (
        "10 people (50%), mostly aged 45–64, mostly men, less often from the most deprived areas "
        "(0.3× the average), more often with diabetes (1.7×); "
        "2.0 unplanned admissions per 10 people a year (average 5.0)."
    )
    assert c1.lay_sentence == "People in this group often live with diabetes."


def test_small_numbers_are_not_headlined() -> None:
    # With at least 7 people required, nothing in cluster 0 qualifies (5 or 6 people each).
    c0, _ = describe(min_count=7)
    assert c0.over_represented == ()
    assert c0.mean_indicators == pytest.approx(1.7)
    assert "no single condition or need stands out" in c0.staff_description
    assert c0.lay_sentence == (
        "Most people in this group are aged 75 or over and have a mix of health conditions, "
        "with no single one standing out."
    )


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="age has 3 values but there are 20 people"):
        describe_clusters(CLUSTER, age=[1, 2, 3], sex=SEX, deprivation_quintile=DEPRIVATION, indicators={})


def test_lay_phrases_file_is_cited() -> None:
    phrases = load_lay_phrases()
    assert "service-manual.nhs.uk" in phrases.source
    assert phrases.conditions["copd"]["system"] == "lung"
    assert all("staff" in entry for entry in phrases.needs.values())


# -- the sentence a person reads -------------------------------------------------------------------

# A group with nothing over-represented and fewer conditions than everyone described: its group
# sentence says so, and must not be read to a person who has more than the group.
QUIET = {"heart_failure": [0] * 20, "copd": [0] * 20}
QUIET_COUNTS = [1, 1, 2, 1, 2, 1, 2, 1, 1, 2] + [4, 5, 6, 4, 5, 6, 4, 5, 6, 5]


def quiet_groups() -> list[ClusterDescription]:
    described: list[ClusterDescription] = describe_clusters(
        np.array(CLUSTER),
        age=[50] * 20,
        sex=SEX,
        deprivation_quintile=DEPRIVATION,
        indicators=QUIET,
        condition_count=QUIET_COUNTS,
    )
    return described


def test_the_group_compares_condition_counts_when_given() -> None:
    c0, c1 = quiet_groups()
    assert c0.mean_conditions == pytest.approx(1.4) and c1.mean_conditions == pytest.approx(5.0)
    assert c0.overall_mean_conditions == pytest.approx(3.2)
    assert "fewer long-term health conditions" in c0.lay_sentence
    assert "fewer" not in c1.lay_sentence


@pytest.mark.parametrize("count", [2, 3, 6, 10])
def test_a_person_above_their_group_is_never_told_fewer(count: int) -> None:
    c0, _ = quiet_groups()
    text = person_sentence(c0, count)
    assert "fewer" not in text
    assert (
        f"This person has {count} long-term conditions, more than most people in this group (average 1.4)."
        in text
    )


def test_a_person_below_or_at_their_group_is_told_how_they_compare() -> None:
    c0, c1 = quiet_groups()
    assert person_sentence(c1, 2).endswith(
        "This person has 2 long-term conditions, fewer than most people in this group (average 5.0)."
    )
    at = person_sentence(c0, 1)
    assert at.endswith(
        "This person has 1 long-term condition, about the average for this group (average 1.4)."
    )
    assert "fewer" not in at  # about average: the group's "fewer than others" is not said to them
    below = person_sentence(c1, 1)
    assert below.startswith("People in this group")


def test_the_stored_profile_gives_the_same_sentence() -> None:
    c0, c1 = quiet_groups()
    for c in (c0, c1):
        profile = {
            "age_bands": c.age_bands,
            "mean_conditions": c.mean_conditions,
            "overall_mean_conditions": c.overall_mean_conditions,
            "over_represented": [
                {"key": r.key, "label": r.label, "kind": r.kind, "ratio": r.ratio} for r in c.over_represented
            ],
        }
        for count in (1, 3, 6):
            assert person_sentence_from_profile(profile, c.lay_sentence, count) == person_sentence(c, count)


def test_an_old_profile_never_contradicts_the_person() -> None:
    old = "People in this group tend to have fewer long-term health conditions than others."
    assert person_sentence_from_profile({}, old, 6) == "This person has 6 long-term conditions recorded."
    kept = "People in this group often live with diabetes."
    assert person_sentence_from_profile({}, kept, 6) == kept
    assert person_sentence_from_profile({}, old, None) == old
