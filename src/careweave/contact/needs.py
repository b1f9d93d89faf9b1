"""What the record says about how to reach a person, gathered for the channel choice: their
Accessible Information Standard needs (Patient extension codes and active Flags, e.g. the Reasonable
Adjustment Flag), language and interpreter, digital access, contact details (Patient.telecom, in
rank order, and the address), the workspace's stated order and app registration, and their carer."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson

from careweave.contact.letter_texts import TRANSLATIONS
from careweave.contact.models import ContactPreference
from careweave.population.contact import Channel, ContactNeeds, Reachable, Route, plan_route
from careweave.record import models as rm
from careweave.terminology.loading.accessible_information import InformationNeeds, load_accessible_information

_MOBILE = re.compile(r"^(?:\+44|0044|0)\s*7[\d\s]{9,12}$")


@functools.cache
def information_needs() -> InformationNeeds:
    return load_accessible_information()


def _body(resource: rm.StoredResource | None) -> dict[str, Any]:
    if resource is None:
        return {}
    try:
        body = orjson.loads(resource.body)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _address(body: dict[str, Any]) -> tuple[str, ...]:
    for address in body.get("address") or []:
        if isinstance(address, dict):
            lines = [
                *(address.get("line") or []),
                address.get("city"),
                address.get("district"),
                address.get("postalCode"),
            ]
            return tuple(str(x) for x in lines if x)
    return ()


def person_address(person: rm.Person, body: dict[str, Any] | None = None) -> tuple[str, ...]:
    lines = _address(body if body is not None else _body(person.resource))
    if lines:
        return lines
    text = [x.strip() for x in person.address_text.split(",") if x.strip()]
    return tuple([*text, person.postcode] if person.postcode else text)


def _reachable(
    telecoms: list[Any], address: tuple[str, ...], app: bool = False
) -> tuple[Reachable, tuple[Channel, ...]]:
    """Contact details from FHIR ContactPoints, and the channels in the order of their `rank`."""
    mobile = email = phone = ""
    ranked: list[tuple[int, Channel]] = []
    for i, point in enumerate(t for t in telecoms if isinstance(t, dict) and t.get("value")):
        value, system = str(point["value"]).strip(), point.get("system")
        if (point.get("period") or {}).get("end"):
            continue  # no longer in use
        rank = int(point.get("rank") or 100 + i)
        if system == "email":
            email = email or value
            ranked.append((rank, Channel.EMAIL))
        elif system in ("phone", "sms"):
            if system == "sms" or point.get("use") == "mobile" or _MOBILE.match(value):
                mobile = mobile or value
                ranked.append((rank, Channel.SMS))
            else:
                phone = phone or value
                ranked.append((rank, Channel.PHONE))
    order = tuple(dict.fromkeys(c for _, c in sorted(ranked, key=lambda x: x[0])))
    return Reachable(app=app, mobile=mobile, email=email, address="\n".join(address), phone=phone), order


@dataclass(frozen=True)
class Known:
    """What a round preloads for many people at once: flag codes, preferences and carers by person."""

    flags: dict[int, list[str]]
    preferences: dict[int, ContactPreference]
    carers: dict[int, rm.RelatedPerson]

    @classmethod
    def load(cls, person_ids: list[int]) -> Known:
        flags: dict[int, list[str]] = defaultdict(list)
        for pid, code in (
            rm.Flag.objects.filter(person_id__in=person_ids)
            .exclude(status__in=("inactive", "entered-in-error"))
            .exclude(code="")
            .values_list("person_id", "code")
        ):
            flags[pid].append(code)
        carers: dict[int, rm.RelatedPerson] = {}
        for carer in (
            rm.RelatedPerson.objects.filter(person_id__in=person_ids, is_carer=True)
            .select_related("resource")
            .order_by("-pk")
        ):
            carers[carer.person_id] = carer  # the first recorded wins (ordered last)
        preferences = {p.person_id: p for p in ContactPreference.objects.filter(person_id__in=person_ids)}
        return cls(flags=dict(flags), preferences=preferences, carers=carers)


def _carer(carer: rm.RelatedPerson | None) -> tuple[Reachable, str, str] | None:
    if carer is None:
        return None
    body = _body(carer.resource)
    telecoms = body.get("telecom") or ([{"system": "phone", "value": carer.telecom}] if carer.telecom else [])
    reach, _ = _reachable(telecoms, _address(body))
    return reach, carer.name or "your carer", carer.resource.logical_id


def recorded_codes(person: rm.Person, known: Known | None = None) -> list[str]:
    """The person's recorded need codes: Patient extension codes, then active Flags' codes."""
    codes = [
        str(c.get("code") if isinstance(c, dict) else c) for c in person.accessible_information_needs or []
    ]
    if known is not None:
        return codes + known.flags.get(person.pk, [])
    flags = (
        rm.Flag.objects.filter(person=person)
        .exclude(status__in=("inactive", "entered-in-error"))
        .exclude(code="")
    )
    return codes + list(flags.values_list("code", flat=True))


@dataclass(frozen=True)
class Recipients:
    """The person's ContactNeeds, and their carer's name and RelatedPerson id ("" when none)."""

    needs: ContactNeeds
    carer_name: str = ""
    carer_id: str = ""


def contact_needs(person: rm.Person, known: Known | None = None) -> Recipients:
    known = known or Known.load([person.pk])
    body = _body(person.resource)
    preference = known.preferences.get(person.pk)
    person_reach, ranked = _reachable(
        body.get("telecom") or [],
        person_address(person, body),
        app=bool(preference and preference.app_registered),
    )
    stated = tuple(
        Channel(c) for c in (preference.order if preference else []) if c in Channel._value2member_map_
    )
    carer = _carer(known.carers.get(person.pk))
    needs = ContactNeeds(
        person=person_reach,
        needs=information_needs().of(recorded_codes(person, known)),
        # the order the person stated, else Notify's with their text and email in their telecom ranks
        preferred=stated or (Channel.APP, *(c for c in ranked if c in (Channel.SMS, Channel.EMAIL))),
        digital_access=person.digital_access,
        language=person.preferred_language,
        interpreter_required=person.interpreter_required,
        carer=carer[0] if carer else None,
    )
    return Recipients(needs, carer[1], carer[2]) if carer else Recipients(needs)


def route_for(person: rm.Person, known: Known | None = None) -> tuple[Route, Recipients]:
    recipients = contact_needs(person, known)
    return plan_route(recipients.needs, translations=TRANSLATIONS), recipients


def needs_interpreter(person: rm.Person, codes: list[str] | None = None) -> str:
    """What interpreter the person needs ("BSL interpreter", "interpreter"), or "" (summary, huddles)."""
    codes = recorded_codes(person) if codes is None else codes
    found = information_needs().of(codes)
    if any(n.interpreter == "bsl" for n in found):
        return "BSL interpreter"
    if person.interpreter_required or any(n.interpreter for n in found):
        return "interpreter"
    return ""
