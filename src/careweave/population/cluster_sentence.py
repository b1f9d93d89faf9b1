"""The cluster sentence a person reads: their group's lay sentence with their own profile in view.

The group clause about having fewer conditions than others is never used for someone at or above
their group's average condition count, and the sentence says how the person compares with their
group ("This person has 6 long-term conditions, more than most people in this group (average 2.1).").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from careweave.population.cluster_description import (
    ClusterDescription,
    IndicatorRatio,
    LayPhrases,
    _lay_text,
    load_lay_phrases,
)

__all__ = ["ABOUT_AVERAGE", "person_sentence", "person_sentence_from_profile"]


#: Within this many conditions of the group's average, a person is "about average" for it.
ABOUT_AVERAGE = 0.5


def _plural(n: int) -> str:
    return f"{n} long-term condition" + ("" if n == 1 else "s")


def person_sentence(
    description: ClusterDescription,
    condition_count: int,
    *,
    max_listed: int = 3,
    lay_phrases: LayPhrases | None = None,
) -> str:
    """The group's lay sentence written for one person, then how the person compares with the group.

    The group clause about having fewer conditions than others is dropped for a person with more
    conditions than their group's average, so the text never contradicts them.
    """
    return _person_text(
        description.age_bands,
        description.over_represented[:max_listed],
        description.mean_conditions,
        description.overall_mean_conditions,
        description.mean_indicators,
        condition_count,
        lay_phrases if lay_phrases is not None else load_lay_phrases(),
    )


def person_sentence_from_profile(
    profile: Mapping[str, Any], group_sentence: str, condition_count: int | None
) -> str:
    """:func:`person_sentence` from a stored cluster profile (segmentation's ``Cluster.profile``).

    A profile stored before the group's condition average was kept gives the group sentence unchanged
    unless it would contradict the person, when only the comparison that can be made is said.
    """
    if condition_count is None:
        return group_sentence
    mean = profile.get("mean_conditions")
    overall = profile.get("overall_mean_conditions")
    if not isinstance(mean, int | float) or not math.isfinite(float(mean)):
        return (
            group_sentence
            if "fewer" not in group_sentence
            else (f"This person has {_plural(condition_count)} recorded.")
        )
    listed = tuple(
        IndicatorRatio(
            str(r.get("key", "")),
            str(r.get("label", "")),
            "need" if r.get("kind") == "need" else "condition",
            0,
            float(r.get("observed") or 0.0),
            float(r.get("expected") or 0.0),
            float(r.get("ratio") or 0.0),
        )
        for r in (profile.get("over_represented") or [])[:3]
    )
    bands = {str(k): float(v) for k, v in (profile.get("age_bands") or {}).items() if v is not None}
    return _person_text(
        bands,
        listed,
        float(mean),
        float(overall) if isinstance(overall, int | float) else math.nan,
        float(mean),
        condition_count,
        load_lay_phrases(),
    )


def _person_text(
    age_bands: Mapping[str, float],
    listed: Sequence[IndicatorRatio],
    mean_conditions: float,
    overall_conditions: float,
    mean_indicators: float,
    condition_count: int,
    lay: LayPhrases,
) -> str:
    group_mean = mean_conditions if math.isfinite(mean_conditions) else mean_indicators
    above = condition_count > group_mean + ABOUT_AVERAGE
    below = condition_count < group_mean - ABOUT_AVERAGE
    overall = overall_conditions if math.isfinite(overall_conditions) else group_mean
    group = _lay_text(age_bands, listed, lay, group_mean, overall, person_above_group=above or not below)
    if above:
        compare = f"This person has {_plural(condition_count)}, more than most people in this group"
    elif below:
        compare = f"This person has {_plural(condition_count)}, fewer than most people in this group"
    else:
        compare = f"This person has {_plural(condition_count)}, about the average for this group"
    return f"{group} {compare} (average {group_mean:.1f})."
