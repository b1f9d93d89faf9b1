"""The outcomes page's rules: OpenSAFELY-style suppression and rounding, and the XmR special-cause rules."""

from __future__ import annotations

import pytest

from careweave.web.outcomes_rules import broad_ethnic_group, rate_per, shown_mean, suppress, xmr


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, None),
        (1, None),
        (7, None),
        (8, 10),
        (12, 10),
        (13, 15),
        (17, 15),
        (18, 20),
        (1234, 1235),
        (None, None),
    ],
)
def test_seven_or_fewer_are_hidden_and_the_rest_rounded_to_the_nearest_five(
    count: int | None, shown: int | None
) -> None:
    assert suppress(count) == shown


def test_rates_come_from_the_rounded_counts_and_hide_with_either() -> None:
    assert rate_per(13, 998) == pytest.approx(1000 * 15 / 1000)
    assert rate_per(7, 1000) is None
    assert rate_per(100, 6) is None
    assert shown_mean(2.5, 7) is None and shown_mean(2.5, 8) == 2.5


def test_core20plus5_broad_ethnic_groups() -> None:
    assert broad_ethnic_group("A") == "White"
    assert broad_ethnic_group("N") == "Black, Black British, Caribbean or African"
    assert broad_ethnic_group("Z") == broad_ethnic_group(None) == "Not stated or not known"


def test_xmr_limits_and_a_point_outside_them() -> None:
    values: list[float | None] = [8.0, 14.0, 8.0, 14.0, 8.0, 14.0, 8.0, 14.0, 8.0, 14.0, 8.0, 40.0]
    spc = xmr(values)
    assert spc.centre == pytest.approx(sum(v for v in values if v is not None) / 12)
    moving = [abs(b - a) for a, b in zip(values[:-1], values[1:], strict=True)]  # type: ignore[operator]
    assert spc.upper == pytest.approx(spc.centre + 2.66 * sum(moving) / 11)  # type: ignore[operator]
    assert spc.signals == {11: "a point outside the process limits"}


def test_a_shift_of_seven_on_one_side_and_a_trend_of_seven() -> None:
    shift = xmr([5.0, 6.0, 5.0, 6.0, 5.0, 9.0, 9.5, 9.0, 9.5, 9.0, 9.5, 9.0])
    assert set(shift.signals) >= {5, 6, 7, 8, 9, 10, 11}
    assert "shift" in shift.signals[8]
    trend = xmr([5.0, 5.5, 5.0, 5.5, 5.0, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 5.0])
    assert {i for i, why in trend.signals.items() if "trend" in why} == {4, 5, 6, 7, 8, 9, 10}
    six = xmr([5.0, 5.5, 5.0, 5.5, 5.0, 5.5, 5.1, 5.2, 5.3, 5.4, 5.5, 5.0])  # 6 rising points: no trend
    assert not any("trend" in why for why in six.signals.values())


def test_too_few_months_draw_no_limits_and_hidden_months_are_left_out() -> None:
    assert xmr([1.0, 2.0, None]).centre is None
    spc = xmr([10.0, None, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0])
    assert spc.centre == pytest.approx(10.5) and 1 not in spc.signals
