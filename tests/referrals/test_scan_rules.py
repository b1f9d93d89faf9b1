"""Worked cases for every referral finding and its edges, on DuckDB (tests/referrals/test_parity.py
holds Spark to the same answers)."""

from __future__ import annotations

import dataclasses

from careweave.population.referrals import ReferralScan
from careweave.terminology.referrals import PublishedWait, load_referral_rules
from tests.referrals.scan_cases import AS_OF, COMMUNITY, GP, HOSP, Case, kinds, months_after, weeks_ago


def _waiting(weeks: float) -> Case:
    case = Case()
    case.referral("sr-1", weeks_ago(weeks))
    case.task("sr-1", "accepted", weeks_ago(weeks - 1))
    return case


def test_accepted_17_weeks_ago_with_no_appointment_is_not_lost_yet() -> None:
    assert "lost" not in [f.finding for f in _waiting(17).scan()]


def test_accepted_19_weeks_ago_with_no_appointment_is_lost() -> None:
    [lost] = [f for f in _waiting(19).scan() if f.finding == "lost"]
    assert (lost.rule, lost.referrals, lost.weeks_waiting) == ("unbooked", ("sr-1",), 19)
    assert weeks_ago(19).isoformat() in lost.explanation and "18 weeks" in lost.explanation
    assert "Referral to treatment" in lost.explanation  # the rule's citation
    assert lost.nhs_number == "9434765901"


def test_the_18_week_boundary_itself_is_within_the_standard() -> None:
    assert "lost" not in [f.finding for f in _waiting(18).scan()]
    assert "lost" in [f.finding for f in _waiting(18 + 1 / 7).scan()]


def test_a_booked_first_appointment_means_not_lost() -> None:
    case = _waiting(19)
    case.appointment("sr-1", "booked", AS_OF.replace(month=8), created=weeks_ago(2))
    assert "lost" not in [f.finding for f in case.scan()]


def test_a_booking_made_after_the_as_of_date_does_not_count() -> None:
    case = _waiting(19)
    case.appointment("sr-1", "booked", AS_OF.replace(month=8), created=AS_OF.replace(month=7, day=1))
    assert "lost" in [f.finding for f in case.scan()]


def test_the_service_published_wait_replaces_the_default() -> None:
    rules = load_referral_rules()
    shorter = dataclasses.replace(rules, published_waits=(PublishedWait(HOSP, 42, ("its website",)),))
    [lost] = [f for f in _waiting(7).scan(question=ReferralScan(shorter, AS_OF)) if f.finding == "lost"]
    assert "6 weeks wait" in lost.explanation and lost.weeks_waiting == 7


def test_sent_and_never_acknowledged() -> None:
    quiet = Case()
    quiet.referral("sr-1", weeks_ago(3))  # no Task at all: sent, not acknowledged, inside the wait
    assert not quiet.scan()
    quiet = Case()
    quiet.referral("sr-1", weeks_ago(19))
    [lost] = [f for f in quiet.scan() if f.finding == "lost"]
    assert lost.rule == "unacknowledged" and "never acknowledged" in lost.explanation


def test_a_missed_appointment_not_rebooked_within_4_weeks_is_lost() -> None:
    case = Case()
    case.referral("sr-1", weeks_ago(10))
    case.task("sr-1", "in-progress", weeks_ago(8))
    case.appointment("sr-1", "noshow", weeks_ago(5), created=weeks_ago(8))
    [lost] = case.scan()
    assert (lost.finding, lost.rule, lost.weeks_waiting) == ("lost", "did-not-attend", 10)
    assert weeks_ago(5).isoformat() in lost.explanation and "4 weeks" in lost.explanation


def test_a_missed_appointment_3_weeks_ago_or_rebooked_is_not_lost() -> None:
    recent = Case()
    recent.referral("sr-1", weeks_ago(10))
    recent.task("sr-1", "in-progress", weeks_ago(8))
    recent.appointment("sr-1", "noshow", weeks_ago(3))
    assert not recent.scan()
    rebooked = Case()
    rebooked.referral("sr-1", weeks_ago(10))
    rebooked.task("sr-1", "in-progress", weeks_ago(8))
    rebooked.appointment("sr-1", "noshow", weeks_ago(5))
    rebooked.appointment("sr-1", "booked", AS_OF.replace(month=7), created=weeks_ago(4))
    assert not rebooked.scan()


def _two_rejections(months_apart: int) -> Case:
    case = Case()
    first = AS_OF.replace(year=AS_OF.year - 2)
    case.referral("sr-1", first)
    case.task("sr-1", "rejected", first, reason="does-not-meet-criteria")
    second = months_after(first, months_apart)
    case.referral("sr-2", second)
    case.task("sr-2", "rejected", second, reason="refer-elsewhere")
    return case


def test_two_rejections_11_months_apart_are_a_loop() -> None:
    [loop] = _two_rejections(11).scan()
    assert (loop.finding, loop.rule, loop.referrals, loop.weeks_waiting) == (
        "loop",
        "reason",
        ("sr-1", "sr-2"),
        None,
    )
    first = AS_OF.replace(year=AS_OF.year - 2)
    assert "does-not-meet-criteria" in loop.explanation and first.isoformat() in loop.explanation
    assert months_after(first, 11).isoformat() in loop.explanation
    assert "365 days" in loop.explanation


def test_two_rejections_13_months_apart_are_not() -> None:
    assert not _two_rejections(13).scan()


def test_a_loop_needs_the_same_problem_or_a_snomed_descendant() -> None:
    case = _two_rejections(11)
    case.rows["referral"][1]["reason_code"] = "239873007"  # osteoarthritis of knee
    assert not case.scan()
    case.is_a("239873007", "30989003")  # as the loaded release says (closure)
    assert kinds(case.scan()) == [("loop", "reason", ("sr-1", "sr-2"))]


def test_three_referrals_after_rejections_are_one_loop() -> None:
    case = _two_rejections(4)
    third = months_after(AS_OF.replace(year=AS_OF.year - 2), 8)
    case.referral("sr-3", third)
    case.task("sr-3", "rejected", third, reason="returned-to-referrer")
    assert kinds(case.scan()) == [("loop", "reason", ("sr-1", "sr-2", "sr-3"))]


def test_ping_pong_between_two_services() -> None:
    case = Case()
    start = weeks_ago(30)
    case.referral("ab-1", start, sender=GP, receiver=COMMUNITY, reason="1")
    case.referral("ba-1", weeks_ago(26), sender=COMMUNITY, receiver=GP, reason="2")
    case.referral("ab-2", weeks_ago(22), sender=GP, receiver=COMMUNITY, reason="3")
    for rid, when in (("ab-1", 29), ("ba-1", 25), ("ab-2", 21)):
        case.task(rid, "completed", weeks_ago(when))
        case.letter(f"DocumentReference/{rid}", weeks_ago(when), related=rid)
    assert kinds(case.scan()) == [("loop", "ping-pong", ("ab-1", "ba-1", "ab-2"))]
    # A -> B and back once is not a ping-pong
    del case.rows["referral"][2]
    assert not case.scan()


def test_completed_with_no_letter_within_4_weeks_is_no_outcome() -> None:
    case = Case()
    case.referral("sr-1", weeks_ago(12))
    case.task("sr-1", "completed", weeks_ago(5))
    [finding] = case.scan()
    assert (finding.finding, finding.weeks_waiting) == ("no-outcome", None)
    assert weeks_ago(5).isoformat() in finding.explanation
    recent = Case()
    recent.referral("sr-1", weeks_ago(12))
    recent.task("sr-1", "completed", weeks_ago(3))
    assert not recent.scan()


def test_a_letter_named_in_the_task_output_counts() -> None:
    case = Case()
    case.referral("sr-1", weeks_ago(12))
    case.task("sr-1", "completed", weeks_ago(5))
    case.letter("Composition/letter-1", weeks_ago(4))
    case.output("sr-1", "Composition/letter-1")
    assert not case.scan()


def test_accepted_then_completed_in_time_with_a_letter_is_no_finding() -> None:
    case = Case()
    case.referral("sr-1", weeks_ago(14))
    case.task("sr-1", "completed", weeks_ago(3))
    case.appointment("sr-1", "fulfilled", weeks_ago(6), created=weeks_ago(12))
    case.letter("DocumentReference/letter-1", weeks_ago(2), related="sr-1")
    assert not case.scan()


def test_validation_due_at_12_26_and_52_weeks() -> None:
    case = Case()
    case.referral("sr-1", weeks_ago(13))
    case.task("sr-1", "accepted", weeks_ago(12))
    case.appointment("sr-1", "booked", AS_OF.replace(month=9))
    [due] = case.scan()
    assert (due.finding, due.weeks_waiting) == ("validation-due", 13)
    assert "12 weeks milestone" in due.explanation and "last validated: never" in due.explanation
    case.validated("sr-1", weeks_ago(1))
    assert not case.scan()
    later = Case()
    later.referral("sr-1", weeks_ago(27))
    later.task("sr-1", "accepted", weeks_ago(26))
    later.appointment("sr-1", "booked", AS_OF.replace(month=9))
    later.validated("sr-1", weeks_ago(14))  # the 12-week validation: not the 26-week one
    [due] = later.scan()
    assert "26 weeks milestone" in due.explanation and weeks_ago(14).isoformat() in due.explanation


def test_closed_referrals_need_no_validation() -> None:
    case = Case()
    case.referral("sr-1", weeks_ago(30))
    case.task("sr-1", "cancelled", weeks_ago(20))
    assert not case.scan()
