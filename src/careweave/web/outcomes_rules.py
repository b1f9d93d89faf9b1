"""The rules the analysts' outcomes page applies: small-number suppression and rounding, the broad
ethnic groups of Core20PLUS5, and statistical process control (XmR) with its special-cause rules.

Suppression, as OpenSAFELY's outputs are checked before release (OpenSAFELY, "Output checking:
statistical disclosure control", docs.opensafely.org/releasing-files/): any count of 7 or fewer is
hidden, every other count is rounded to the nearest 5, and a rate is worked out from the rounded
counts (so it cannot give back the exact one), hidden when either count is. A mean or median is
shown only when more than 7 people contribute. This is stricter at the low end and coarser than the
population page's "under 10" (ADR 0003), as the issue asks for these outcome tables.

Statistical process control: the XmR (individuals) chart of NHS England's Making Data Count (NHS
Improvement, "Making data count", 2019; as implemented in the NHS-R Community's NHSRplotthedots):
the centre line is the mean, the process limits the mean ± 2.66 × the mean moving range; special
cause is a point outside the limits, a shift (7 or more points in a row on one side of the mean) or
a trend (7 or more points in a row each higher, or each lower, than the one before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

HIDDEN_AT_OR_BELOW: Final = 7
ROUND_TO: Final = 5
SPC_LIMIT_FACTOR: Final = 2.66
SHIFT_RUN: Final = 7
TREND_RUN: Final = 7
MIN_POINTS: Final = 12  # fewer months than this: limits are not drawn (too few to estimate them)

# Core20PLUS5 (NHS England) looks at health inequalities by ethnicity: the NHS Data Dictionary's
# ethnic categories in their five broad groups, plus not stated or not known.
BROAD_ETHNIC_GROUPS: Final = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed or multiple ethnic groups"),
    **dict.fromkeys("HJKL", "Asian or Asian British"),
    **dict.fromkeys("MNP", "Black, Black British, Caribbean or African"),
    **dict.fromkeys("RS", "Other ethnic group"),
}
NOT_KNOWN: Final = "Not stated or not known"
ETHNIC_ORDER: Final = (*dict.fromkeys(BROAD_ETHNIC_GROUPS.values()), NOT_KNOWN)


def broad_ethnic_group(code: str | None) -> str:
    return BROAD_ETHNIC_GROUPS.get((code or "").strip().upper(), NOT_KNOWN)


def suppress(count: int | None) -> int | None:
    """None (hidden) for 7 or fewer, else the count rounded to the nearest 5 (halves up)."""
    if count is None or count <= HIDDEN_AT_OR_BELOW:
        return None
    return int((count + ROUND_TO // 2) // ROUND_TO * ROUND_TO)


def rate_per(events: int | None, people: int | None, per: int = 1000) -> float | None:
    """A rate from the suppressed counts; None when either is hidden."""
    shown_events, shown_people = suppress(events), suppress(people)
    if shown_events is None or not shown_people:
        return None
    return per * shown_events / shown_people


def shown_mean(value: float | None, contributors: int) -> float | None:
    return value if value is not None and contributors > HIDDEN_AT_OR_BELOW else None


@dataclass
class Spc:
    """An XmR chart's lines and the points that signal special cause (by index, with the rule)."""

    values: list[float | None]
    centre: float | None = None
    lower: float | None = None
    upper: float | None = None
    signals: dict[int, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.centre is None:
            return "Too few months to compute process limits."
        if not self.signals:
            return "Common cause variation only: no point outside the limits, no shift, no trend."
        kinds = sorted(set(self.signals.values()))
        return "Special cause variation: " + ", ".join(kinds) + "."


def _runs(values: list[tuple[int, float]], same: Sequence[bool], length: int) -> set[int]:
    """Indices in runs of `length` or more consecutive True flags."""
    found: set[int] = set()
    start = 0
    for i in range(len(same) + 1):
        if i == len(same) or not same[i]:
            if i - start >= length:
                found.update(values[j][0] for j in range(start, i))
            start = i + 1
    return found


def xmr(values: Sequence[float | None]) -> Spc:
    """The XmR chart over `values` (None: a hidden month, left out of the limits and the rules)."""
    spc = Spc(list(values))
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < MIN_POINTS:
        return spc
    xs = [v for _i, v in points]
    centre = sum(xs) / len(xs)
    moving = [abs(b - a) for a, b in zip(xs, xs[1:], strict=False)]
    mean_range = sum(moving) / len(moving)
    spc.centre, spc.lower, spc.upper = (
        centre,
        max(0.0, centre - SPC_LIMIT_FACTOR * mean_range),
        centre + SPC_LIMIT_FACTOR * mean_range,
    )
    for i, v in points:
        if v > spc.upper or v < spc.lower:
            spc.signals[i] = "a point outside the process limits"
    for side in (True, False):
        flags = [(v > centre) if side else (v < centre) for v in xs]
        for i in _runs(points, flags, SHIFT_RUN):
            spc.signals.setdefault(
                i, f"a shift ({SHIFT_RUN} or more points in a row on one side of the mean)"
            )
    for rising in (True, False):
        # a trend of N points is N - 1 steps in the same direction; point 0 starts the first step
        steps = [(b > a) if rising else (b < a) for a, b in zip(xs, xs[1:], strict=False)]
        run_points: set[int] = set()
        start = 0
        for k in range(len(steps) + 1):
            if k == len(steps) or not steps[k]:
                if k - start + 1 >= TREND_RUN:
                    run_points.update(points[j][0] for j in range(start, k + 1))
                start = k + 1
        for i in run_points:
            spc.signals.setdefault(i, f"a trend ({TREND_RUN} or more points in a row rising or falling)")
    return spc
