"""Choosing how to contact a person (issue 18, ADR 0020): the channels in the order to try, the
letter's format and language, whether it goes to the carer, and what staff must arrange (an
interpreter, a double slot, a braille transcription). Django-free and pure, so every combination of
needs can be tested; careweave.contact applies it and records what happened.

The order is the person's own (their ranked contact details, then what they told us), else NHS
Notify's: the app first, then text message, email and letter; a phone call by staff is the last
resort. A channel is dropped when its contact details are missing, when a recorded need rules it
out (a BSL user gets no phone call), when the person has no digital access (no app, text or email;
"phone only" keeps text messages), or when the need allows only some channels ("contact by letter").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from careweave.terminology.loading.accessible_information import InformationNeed


class Channel(StrEnum):
    APP = "app"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    PHONE = "phone"


#: NHS Notify's order when the person has stated none: the NHS App, text, email, letter; then a call.
DEFAULT_ORDER: tuple[Channel, ...] = (Channel.APP, Channel.SMS, Channel.EMAIL, Channel.LETTER, Channel.PHONE)
#: The channels that need a device and the skills to use it.
DIGITAL: frozenset[Channel] = frozenset({Channel.APP, Channel.SMS, Channel.EMAIL})
#: Hours an app message may stay unread before the next channel is tried, unless set otherwise.
UNREAD_AFTER_HOURS = 24


@dataclass(frozen=True)
class Reachable:
    """The contact details on record for one recipient (the person or their carer)."""

    app: bool = False
    mobile: str = ""
    email: str = ""
    address: str = ""
    phone: str = ""

    def has(self, channel: Channel) -> bool:
        return bool(
            {
                Channel.APP: self.app,
                Channel.SMS: self.mobile,
                Channel.EMAIL: self.email,
                Channel.LETTER: self.address,
                Channel.PHONE: self.phone or self.mobile,
            }[channel]
        )


@dataclass(frozen=True)
class ContactNeeds:
    """What the record says about how to reach a person."""

    person: Reachable
    needs: tuple[InformationNeed, ...] = ()
    preferred: tuple[Channel, ...] = ()
    digital_access: str = ""  # online | phone-only | none | "" (not recorded)
    language: str = ""  # BCP 47, as FHIR Patient.communication carries it
    interpreter_required: bool | None = None
    carer: Reachable | None = None


@dataclass(frozen=True)
class Route:
    """How to contact the person: who receives it, the channels in order, and the letter's form."""

    recipient: str  # person | carer
    channels: tuple[Channel, ...]
    excluded: dict[Channel, str] = field(default_factory=dict)
    letter_format: str = "standard"  # standard | large_print | easy_read | braille | audio
    language: str = "en"
    interpreter: str = ""  # "" | spoken | bsl
    double_slot: bool = False
    video_link: bool = False
    staff_tasks: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def reachable(self) -> bool:
        return bool(self.channels)


#: When several needs name a letter format, the one that serves the most readers wins.
_FORMAT_PRIORITY = ("braille", "audio", "easy_read", "large_print")


def letter_language(language: str, translations: Collection[str]) -> str:
    """The language a letter is written in: the person's (its primary subtag) where we have a
    translation, else English."""
    primary = (language or "").strip().lower().split("-")[0]
    return primary if primary and primary in translations else "en"


def _excluded(needs: ContactNeeds, recipient: Reachable, via_carer: bool) -> dict[Channel, str]:
    out: dict[Channel, str] = {}
    only = {Channel(c) for n in needs.needs if n.only for c in n.contact}
    for channel in DEFAULT_ORDER:
        never = next((n for n in needs.needs if channel.value in n.never), None)
        if only and channel not in only:
            out[channel] = "the person asked to be contacted only by " + " or ".join(sorted(only))
        elif never is not None:
            out[channel] = f"not suitable: {never.name.lower()}"
        elif not via_carer and channel in DIGITAL and needs.digital_access == "none":
            out[channel] = "the person has no digital access"
        elif (
            not via_carer and channel in (Channel.APP, Channel.EMAIL) and needs.digital_access == "phone-only"
        ):
            out[channel] = "the person has a phone only"
        elif not recipient.has(channel):
            out[channel] = "no contact details recorded"
    return out


def _order(needs: ContactNeeds) -> list[Channel]:
    stated = [Channel(c) for n in needs.needs for c in n.contact]
    order: list[Channel] = []
    for channel in (*stated, *needs.preferred, *DEFAULT_ORDER):
        if channel not in order:
            order.append(channel)
    return order


def plan_route(needs: ContactNeeds, *, translations: Collection[str] = ("en",)) -> Route:
    """The route for one communication to the person described by ``needs``."""
    via_carer = any(n.via_carer for n in needs.needs) and needs.carer is not None
    recipient = needs.carer if via_carer and needs.carer is not None else needs.person
    excluded = _excluded(needs, recipient, via_carer)
    channels = tuple(c for c in _order(needs) if c not in excluded)
    formats = {n.format for n in needs.needs if n.format}
    letter_format = next((f for f in _FORMAT_PRIORITY if f in formats), "standard")
    interpreters = {n.interpreter for n in needs.needs if n.interpreter}
    if needs.interpreter_required:
        interpreters.add("spoken")
    interpreter = "bsl" if "bsl" in interpreters else ("spoken" if interpreters else "")
    notes: list[str] = []
    if any(n.via_carer for n in needs.needs) and not via_carer:
        notes.append(
            "The person asked for contact via their carer, but no carer is recorded: sent to the person."
        )
    if not channels:
        notes.append("No channel can reach this person: a member of staff must find another way.")
    return Route(
        recipient="carer" if via_carer else "person",
        channels=channels,
        excluded=excluded,
        letter_format=letter_format,
        language=letter_language(needs.language, translations),
        interpreter=interpreter,
        double_slot=any(n.double_slot for n in needs.needs) or needs.interpreter_required is True,
        video_link=any(n.video_link for n in needs.needs),
        staff_tasks=tuple(n.staff_task for n in needs.needs if n.staff_task),
        notes=tuple(notes),
    )


def next_channel(route: Route, tried: Sequence[Channel]) -> Channel | None:
    """The next channel to try after those already ``tried`` (failed, or unread in time)."""
    return next((c for c in route.channels if c not in tried), None)


#: Notify's statuses that end a message without delivering it.
FAILED = frozenset(
    {"permanent-failure", "temporary-failure", "technical-failure", "validation-failed", "cancelled"}
)


def needs_fallback(
    channel: Channel,
    status: str,
    *,
    sent_at: datetime | None,
    read_at: datetime | None,
    now: datetime,
    unread_after: timedelta = timedelta(hours=UNREAD_AFTER_HOURS),
) -> bool:
    """Whether to try the next channel: the message failed, or it is an app message still unread
    ``unread_after`` after it was sent (NHS Notify's fallback)."""
    if status in FAILED:
        return True
    return (
        channel is Channel.APP and read_at is None and sent_at is not None and now - sent_at >= unread_after
    )
