"""The channel choice (careweave.population.contact), pure: every Accessible Information Standard code
in accessible_information.yaml routes as its entry says, and the combinations that matter fall back
in the right order (no mobile number, app unread after 24 hours, letter only, via carer, interpreter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from careweave.population.contact import (
    DEFAULT_ORDER,
    Channel,
    ContactNeeds,
    Reachable,
    letter_language,
    needs_fallback,
    next_channel,
    plan_route,
)
from careweave.terminology.loading.accessible_information import load_accessible_information

NEEDS = load_accessible_information()
EVERYTHING = Reachable(
    app=True, mobile="07700900111", email="a@example.org", address="1 High St", phone="01632 960001"
)
CARER = Reachable(mobile="07700900222", address="2 Low St")
ALL_CODES = sorted({code for need in NEEDS.needs for code in (*need.snomed_codes, *need.local_codes)})


def route_for(codes: list[str], **kwargs: object) -> object:
    return plan_route(
        ContactNeeds(person=kwargs.pop("person", EVERYTHING), needs=NEEDS.of(codes), **kwargs),
        translations={"en", "cy"},
    )  # type: ignore[arg-type]


def test_the_issue_codes_are_all_there() -> None:
    for code in (
        "796161000000101",
        "957331000000109",
        "204331000000107",
        "936701000000103",
        "936721000000107",
        "719561001",
        "203311000000101",
    ):
        assert code in NEEDS.by_code, code


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_code_routes_as_its_entry_says(code: str) -> None:
    need = NEEDS.by_code[code]
    route = plan_route(ContactNeeds(person=EVERYTHING, needs=(need,), carer=CARER), translations={"en"})
    if need.via_carer:
        assert route.recipient == "carer"
    else:
        assert route.recipient == "person"
    if need.contact:
        assert route.channels[: len(need.contact)] == tuple(
            Channel(c) for c in need.contact if Channel(c) in route.channels
        )
    if need.only:
        assert set(route.channels) <= {Channel(c) for c in need.contact}
    for channel in need.never:
        assert Channel(channel) not in route.channels
        assert "not suitable" in route.excluded[Channel(channel)]
    assert route.letter_format == (need.format or "standard")
    assert route.interpreter == need.interpreter
    assert route.double_slot == need.double_slot
    assert route.video_link == need.video_link
    assert route.staff_tasks == ((need.staff_task,) if need.staff_task else ())
    if not (need.only or need.never or need.via_carer):  # nothing else is lost
        assert set(route.channels) == set(DEFAULT_ORDER)


def test_no_needs_follows_notifys_order() -> None:
    route = route_for([])
    assert route.channels == DEFAULT_ORDER
    assert route.letter_format == "standard" and not route.interpreter


def test_no_mobile_number_skips_sms() -> None:
    route = route_for([], person=Reachable(app=False, email="a@example.org", address="1 High St"))
    assert route.channels == (Channel.EMAIL, Channel.LETTER)
    assert route.excluded[Channel.SMS] == "no contact details recorded"
    assert route.excluded[Channel.PHONE] == "no contact details recorded"


def test_sms_need_puts_text_first_but_not_without_a_mobile() -> None:
    assert route_for(["936701000000103"]).channels[0] is Channel.SMS
    no_mobile = route_for(["936701000000103"], person=Reachable(address="1 High St"))
    assert no_mobile.channels == (Channel.LETTER,)


def test_letter_only() -> None:
    route = route_for(["936721000000107"])
    assert route.channels == (Channel.LETTER,)
    assert "only by letter" in route.excluded[Channel.SMS]
    assert not route_for(["936721000000107"], person=Reachable(mobile="07700900111")).reachable


def test_via_carer_uses_the_carers_details_and_falls_back_to_the_person_without_one() -> None:
    route = route_for(["719561001"], carer=CARER)
    assert route.recipient == "carer"
    assert route.channels == (Channel.SMS, Channel.LETTER, Channel.PHONE)
    alone = route_for(["719561001"])
    assert alone.recipient == "person" and "no carer is recorded" in alone.notes[0]


def test_via_carer_with_letter_only_and_large_print_combine() -> None:
    route = route_for(["719561001", "936721000000107", "957331000000109"], carer=CARER)
    assert (
        route.recipient == "carer"
        and route.channels == (Channel.LETTER,)
        and route.letter_format == "large_print"
    )


def test_interpreter_from_the_code_or_the_patient_flag() -> None:
    assert route_for(["203311000000101"]).interpreter == "spoken"
    flagged = route_for([], interpreter_required=True)
    assert flagged.interpreter == "spoken" and flagged.double_slot
    both = route_for(["204331000000107"], interpreter_required=True)
    assert both.interpreter == "bsl" and both.video_link and Channel.PHONE not in both.channels


def test_no_digital_access_means_no_sms_app_or_email() -> None:
    route = route_for([], digital_access="none")
    assert route.channels == (Channel.LETTER, Channel.PHONE)
    phone_only = route_for([], digital_access="phone-only")
    assert phone_only.channels == (Channel.SMS, Channel.LETTER, Channel.PHONE)


def test_the_persons_stated_order_comes_before_notifys() -> None:
    assert route_for([], preferred=(Channel.LETTER, Channel.EMAIL)).channels[:2] == (
        Channel.LETTER,
        Channel.EMAIL,
    )


def test_easy_read_beats_large_print_and_braille_beats_both() -> None:
    assert route_for(["957331000000109", "796161000000101"]).letter_format == "easy_read"
    assert route_for(["957331000000109", "braille"]).letter_format == "braille"


def test_language_of_the_letter() -> None:
    assert letter_language("cy-GB", {"en", "cy"}) == "cy"
    assert letter_language("pl", {"en", "cy"}) == "en"
    assert letter_language("", {"en", "cy"}) == "en"
    assert route_for([], language="cy").language == "cy"


def test_fallback_after_failure_or_unread_after_24_hours() -> None:
    sent = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert needs_fallback(Channel.SMS, "permanent-failure", sent_at=sent, read_at=None, now=sent)
    assert not needs_fallback(
        Channel.SMS, "created", sent_at=sent, read_at=None, now=sent + timedelta(days=3)
    )
    assert not needs_fallback(
        Channel.APP, "sent-to-app", sent_at=sent, read_at=None, now=sent + timedelta(hours=23, minutes=59)
    )
    assert needs_fallback(
        Channel.APP, "sent-to-app", sent_at=sent, read_at=None, now=sent + timedelta(hours=24)
    )
    assert not needs_fallback(
        Channel.APP, "read", sent_at=sent, read_at=sent + timedelta(hours=1), now=sent + timedelta(days=2)
    )


def test_next_channel_walks_the_route() -> None:
    route = route_for([])
    assert next_channel(route, []) is Channel.APP
    assert next_channel(route, [Channel.APP]) is Channel.SMS
    assert next_channel(route, list(DEFAULT_ORDER)) is None
