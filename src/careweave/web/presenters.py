"""Shape record data for the people list and the person record: formatting and ordering live here, not
in views or templates. The audit pages have their own module, `web.audit`."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Self
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language_info

from careweave.governance import consent
from careweave.record import models as rm
from careweave.terminology.exclusions import load_exclusions
from careweave.terminology.loaders import (
    load_active_clinical_statuses,
    load_condition_library,
    load_key_measurements,
)
from careweave.terminology.loading.alerts import load_alerts
from careweave.terminology.loading.units import load_units
from careweave.terminology.units import UNRECOGNISED_NOTE, USABLE
from careweave.ui.format import (
    NOT_RECORDED,
    age_in_years,
    format_date,
    format_nhs_number,
)

ACTIVE_CLINICAL_STATUSES = frozenset(load_active_clinical_statuses())
OPEN_REFERRAL_STATUSES = frozenset({"draft", "active", "on-hold"})

# The measurements shown on the record summary (id -> label, codes), from the reviewed
# terminology/data/key_measurements.yaml, which merges in the codes of the monitoring they show.
KEY_MEASUREMENTS: dict[str, tuple[str, frozenset[tuple[str, str]]]] = {
    m.id: (m.label, m.codes) for m in load_key_measurements()
}


def describe_wait(since: date | None, today: date | None = None) -> str:
    """How long a referral has been waiting, in weeks as referral-to-treatment waits are counted."""
    if since is None:
        return NOT_RECORDED
    days = ((today or timezone.localdate()) - since).days
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{days // 7} weeks"


@functools.cache
def _condition_library() -> Any:
    return load_condition_library()


def long_term_condition_ids(conditions: Iterable[rm.Condition]) -> set[str]:
    """Library long-term conditions (Barnett, Cambridge Multimorbidity Score) among active coded conditions.

    A display count from diagnosis codes only; the MLTC register in `population/` applies the full
    rules (diagnosis windows, medicine routes)."""
    library = _condition_library()
    found: set[str] = set()
    for condition in conditions:
        if condition.clinical_status in ACTIVE_CLINICAL_STATUSES:
            found.update(library.conditions_for_code(condition.system, condition.code))
    return found


# -- the list of people ----------------------------------------------------------------------------


def search_people(people: QuerySet[rm.Person], query: str) -> QuerySet[rm.Person]:
    """Filter by NHS number (spaces ignored) or by every word of the name."""
    query = query.strip()
    if not query:
        return people
    digits = query.replace(" ", "").replace("-", "")
    if digits.isdigit():
        return people.filter(nhs_number__startswith=digits)
    for word in query.split():
        people = people.filter(Q(given_name__icontains=word) | Q(family_name__icontains=word))
    return people


@dataclass(frozen=True)
class PersonColumns:
    """The columns every list of people starts with (the people search, the worklists)."""

    pk: int
    name: str
    nhs_number: str
    date_of_birth: str
    age: str
    practice: str

    @classmethod
    def of(cls, person: rm.Person, practice: rm.Organisation | None, **rest: Any) -> Self:
        """The row of ``person`` listed under ``practice``; ``rest`` are the subclass's own columns."""
        return cls(
            pk=person.pk,
            name=person.display_name,
            nhs_number=format_nhs_number(person.nhs_number),
            date_of_birth=format_date(person.birth_date) if person.birth_date else NOT_RECORDED,
            age=_age_text(person),
            practice=practice.name if practice else NOT_RECORDED,
            **rest,
        )


@dataclass(frozen=True)
class PersonRow(PersonColumns):
    long_term_conditions: int


def person_rows(people: Iterable[rm.Person], user: Any = None) -> list[PersonRow]:
    """Each person's row; with `user`, counting only the conditions that user sees (ADR 0021)."""
    people = list(people)
    by_person: dict[int, list[rm.Condition]] = defaultdict(list)
    shown = consent.rows_shown(user, "Condition", "code") if user is not None else Q()
    for condition in rm.Condition.objects.filter(
        shown, person__in=people, clinical_status__in=ACTIVE_CLINICAL_STATUSES
    ).only("person_id", "system", "code", "clinical_status"):
        by_person[condition.person_id].append(condition)
    return [
        PersonRow.of(
            person,
            person.registered_practice,
            long_term_conditions=len(long_term_condition_ids(by_person[person.pk])),
        )
        for person in people
    ]


def pager_for(page: Any, query_string: str) -> dict[str, Any] | None:
    """NHS.UK pagination keeping the page's other parameters (an encoded query string)."""
    return _numbered_pages(
        page, lambda number: "?" + "&".join(p for p in (query_string, urlencode({"page": number})) if p)
    )


def _numbered_pages(page: Any, href: Callable[[int], str]) -> dict[str, Any] | None:
    """The pagination of ``page`` (None when there is one page), each page's link made by ``href``."""
    paginator = page.paginator
    if paginator.num_pages < 2:
        return None
    items: list[dict[str, Any]] = []
    for number in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
        if number == paginator.ELLIPSIS:
            items.append({"ellipsis": True})
        else:
            items.append({"number": number, "href": href(number), "current": number == page.number})
    return {
        "previous": {"href": href(page.number - 1)} if page.has_previous() else None,
        "next": {"href": href(page.number + 1)} if page.has_next() else None,
        "items": items,
    }


def _age_text(person: rm.Person) -> str:
    if person.deceased:
        return "Died" + (f" {format_date(person.deceased_date)}" if person.deceased_date else "")
    age = age_in_years(person.birth_date)
    return NOT_RECORDED if age is None else str(age)


# -- one person's record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    label: str
    value: str
    date: str


@dataclass
class PersonDetails:
    """Who the person is and what they need to take part: the head of the record and of the summary."""

    person: rm.Person
    name: str
    nhs_number: str
    sex: str
    practice: str
    language: str
    interpreter: str
    accessible_information: list[str]
    digital_access: str

    @classmethod
    def of(cls, person: rm.Person, **rest: Any) -> Self:
        """The details of ``person``; ``rest`` are the subclass's own fields."""
        return cls(
            person=person,
            name=person.display_name,
            nhs_number=format_nhs_number(person.nhs_number),
            sex=person.sex.capitalize() if person.sex else NOT_RECORDED,
            practice=person.registered_practice.name if person.registered_practice else NOT_RECORDED,
            language=language_name(person.preferred_language),
            interpreter=_yes_no(person.interpreter_required),
            accessible_information=_accessible_needs(person.accessible_information_needs),
            digital_access=person.get_digital_access_display() if person.digital_access else NOT_RECORDED,
            **rest,
        )


@dataclass
class PersonRecord(PersonDetails):
    birth: str
    conditions: list[dict[str, Any]] = field(default_factory=list)
    medicines: list[dict[str, Any]] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    encounters: list[dict[str, Any]] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)
    social_circumstances: list[dict[str, Any]] = field(default_factory=list)
    related_people: list[dict[str, Any]] = field(default_factory=list)
    long_term_condition_count: int = 0


MAX_TIMELINE = 100


def language_name(code: str) -> str:
    """A BCP 47 language tag (as FHIR carries it: "en-GB", "cy", "pl") in words ("British English",
    "Welsh", "Polish"), from Django's table of languages; the tag itself when it is not in it."""
    tag = (code or "").strip()
    if not tag:
        return NOT_RECORDED
    for candidate in (tag.lower(), tag.split("-")[0].lower()):
        try:
            return str(get_language_info(candidate)["name"])
        except KeyError:
            continue
    return tag


def _yes_no(value: bool | None) -> str:
    return NOT_RECORDED if value is None else ("Yes" if value else "No")


def _accessible_needs(needs: Any) -> list[str]:
    out = []
    for need in needs or []:
        if isinstance(need, dict):
            need = need.get("display") or need.get("text") or need.get("code") or ""
        if str(need).strip():
            out.append(str(need))
    return out


def person_record(person: rm.Person) -> PersonRecord:
    birth = format_date(person.birth_date)
    if person.birth_date and not person.deceased:
        birth += f" (age {age_in_years(person.birth_date)})"
    record = PersonRecord.of(person, birth=birth)
    conditions = list(person.conditions.all())
    record.long_term_condition_count = len(long_term_condition_ids(conditions))
    conditions.sort(key=lambda c: (c.clinical_status not in ACTIVE_CLINICAL_STATUSES, -(c.onset or date.min).toordinal()))
    record.conditions = [
        {
            "name": c.display or c.code or NOT_RECORDED,
            "status": (c.clinical_status or "unknown").capitalize(),
            "active": c.clinical_status in ACTIVE_CLINICAL_STATUSES,
            "onset": format_date(c.onset),
        }
        for c in conditions
    ]
    record.medicines = [
        {"name": m.display or m.code or NOT_RECORDED, "dose": m.dose_text or NOT_RECORDED,
         "course": m.course.capitalize() if m.course else "", "since": format_date(m.authored_on)}
        for m in person.medications.filter(status="active").order_by("display")
    ]
    record.measurements = _latest_measurements(person)
    record.encounters = [
        {
            "date": format_date(e.start),
            "organisation": e.organisation.name if e.organisation else NOT_RECORDED,
            "sector": e.organisation.get_sector_display() if e.organisation else rm.Sector.UNKNOWN.label,
            "type": e.type_display or e.class_code or NOT_RECORDED,
            "unplanned": e.unplanned,
        }
        for e in person.encounters.select_related("organisation").order_by("-start", "-pk")[:MAX_TIMELINE]
    ]
    record.referrals = [
        {
            "service": r.code_display or r.reason_display or NOT_RECORDED,
            "to": r.to_organisation.name if r.to_organisation else NOT_RECORDED,
            "status": (r.status or "unknown").capitalize(),
            "priority": (r.priority or "").capitalize(),
            "referred": format_date(r.authored_on),
            "waiting": describe_wait(r.authored_on) if r.status in OPEN_REFERRAL_STATUSES else "Not waiting",
        }
        for r in person.referrals.filter(is_referral=True).select_related("to_organisation").order_by("-authored_on", "-pk")
    ]
    record.social_circumstances = [
        {"kind": s.kind.replace("-", " ").capitalize(), "detail": s.display or s.code, "recorded": format_date(s.recorded)}
        for s in person.social_circumstances.order_by("-recorded", "-pk")
    ]
    record.related_people = [
        {
            "name": p.name or NOT_RECORDED,
            "relationship": p.relationship_display or p.relationship_code or NOT_RECORDED,
            "carer": p.is_carer,
            "next_of_kin": p.is_next_of_kin,
            "contact": p.telecom,
        }
        for p in person.related_people.order_by("-is_carer", "-is_next_of_kin", "name")
    ]
    return record


def _latest_measurements(person: rm.Person) -> list[Measurement]:
    wanted = {code for _label, codes in KEY_MEASUREMENTS.values() for _system, code in codes}
    latest: dict[str, rm.Observation] = {}
    for obs in person.observations.filter(code__in=wanted).exclude(effective=None).order_by("-effective"):
        for key, (_label, codes) in KEY_MEASUREMENTS.items():
            if key not in latest and (obs.system, obs.code) in codes and (obs.value is not None or obs.value_text):
                latest[key] = obs
    out = []
    systolic, diastolic = latest.pop("systolic", None), latest.pop("diastolic", None)
    if systolic or diastolic:
        reading = systolic or diastolic
        value = f"{_number(systolic)}/{_number(diastolic)} mmHg"
        if any(o is not None and o.value is not None and o.unit_status not in USABLE for o in (systolic, diastolic)):
            value = f"{_as_sent(systolic)}/{_as_sent(diastolic)} ({UNRECOGNISED_NOTE})"
        out.append(Measurement("Blood pressure", value, format_date(reading.effective if reading else None)))
    for key, obs in latest.items():
        label = KEY_MEASUREMENTS[key][0]
        if obs.value is None:
            value = obs.value_text
        elif obs.unit_status in USABLE:
            value = f"{_number(obs)} {load_units().display(obs.unit_canonical)}".strip()
        else:
            value = f"{_as_sent(obs)} ({UNRECOGNISED_NOTE})"
        out.append(Measurement(label, value, format_date(obs.effective)))
    return out


def _number(obs: rm.Observation | None) -> str:
    """The value in the canonical unit for its code (never the value as sent under another unit's name)."""
    if obs is None or obs.value_canonical is None or obs.unit_status not in USABLE:
        return "?"
    return number_text(obs.value_canonical)


def _as_sent(obs: rm.Observation | None) -> str:
    if obs is None or obs.value is None:
        return "?"
    return f"{number_text(obs.value)} {obs.unit}".strip()


def number_text(value: float) -> str:
    """To one decimal place, without a trailing ".0" (a converted 52.995 mmol/mol is "53")."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


# -- allergies and alerts: the top of the summary --------------------------------------------------

ALLERGIES_RECORDED, NO_KNOWN_ALLERGIES, ALLERGIES_NOT_RECORDED = "recorded", "none-known", "not-recorded"
_PAST_ALLERGY_STATUSES = frozenset({"inactive", "resolved"})
_CLOSED_FLAG_STATUSES = frozenset({"inactive", "entered-in-error"})
_CRITICALITY = {"high": "High criticality", "low": "Low criticality", "unable-to-assess": "Unable to assess"}


@dataclass(frozen=True)
class AllergyRow:
    substance: str
    reactions: str
    criticality: str
    high: bool
    category: str
    verification: str
    recorded: str


@dataclass
class AllergiesAndAlerts:
    """Shown before anything else: allergies (or that none are known, or that none are recorded) and
    the active alerts, prominent ones (DNACPR, emergency care plans, safeguarding) first."""

    state: str = ALLERGIES_NOT_RECORDED
    heading: str = "Allergies not recorded"
    allergies: list[AllergyRow] = field(default_factory=list)
    none_known: list[dict[str, str]] = field(default_factory=list)
    past_allergies: list[AllergyRow] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)

    @property
    def conflict(self) -> bool:
        """Allergies recorded and "no known allergies" recorded too: the clinician must check."""
        return bool(self.allergies and self.none_known)


def allergies_and_alerts(person: rm.Person, today: date | None = None) -> AllergiesAndAlerts:
    """Two queries (allergies, flags). "No known allergies" is a recorded code (alerts.yaml), distinct
    from nothing recorded; refuted and entered-in-error entries are not shown."""
    alerts = load_alerts()
    ignored = load_exclusions().ignored_everywhere
    result = AllergiesAndAlerts()
    for a in person.allergies.order_by("-recorded_date", "-pk"):
        if a.verification_status in ignored:
            continue
        negation = alerts.no_known_allergy(a.system, a.code)
        if negation is not None:
            if a.clinical_status not in _PAST_ALLERGY_STATUSES:
                result.none_known.append({"label": negation.label, "recorded": format_date(a.recorded_date)})
            continue
        row = AllergyRow(
            substance=a.display or a.code or NOT_RECORDED,
            reactions=a.reactions or "Reaction not recorded",
            criticality=_CRITICALITY.get(a.criticality, "Criticality not recorded"),
            high=a.criticality == "high",
            category=a.category.replace(" ", ", ").capitalize(),
            verification=(a.verification_status or "").capitalize(),
            recorded=format_date(a.recorded_date),
        )
        (result.past_allergies if a.clinical_status in _PAST_ALLERGY_STATUSES else result.allergies).append(row)
    result.allergies.sort(key=lambda r: not r.high)  # stable: high criticality first, then newest
    if result.allergies:
        count = len(result.allergies)
        result.state, result.heading = ALLERGIES_RECORDED, f"{count} allerg{'y' if count == 1 else 'ies'} recorded"
    elif result.none_known:
        labels = dict.fromkeys(n["label"] for n in result.none_known)
        result.state, result.heading = NO_KNOWN_ALLERGIES, "; ".join(labels)
    result.flags = _active_flags(person, alerts, today or timezone.localdate())
    return result


def _active_flags(person: rm.Person, alerts: Any, today: date) -> list[dict[str, Any]]:
    order = {kind.id: index for index, kind in enumerate(alerts.kinds)}
    flags = []
    for f in person.flags.order_by("-start", "-pk"):
        if f.status in _CLOSED_FLAG_STATUSES or (f.end is not None and f.end < today):
            continue  # a blank status is shown: an alert is never hidden for being badly coded
        kind = alerts.kind_of(f.system, f.code, f.category)
        flags.append(
            {
                "kind": kind.label if kind else (f.category.replace("-", " ").capitalize() or "Alert"),
                "detail": f.display or f.code or NOT_RECORDED,
                "prominent": bool(kind and kind.prominent),
                "since": format_date(f.start) if f.start else "",
                "until": format_date(f.end) if f.end else "",
                "rank": (not (kind and kind.prominent), order.get(kind.id, len(order)) if kind else len(order)),
            }
        )
    flags.sort(key=lambda f: f["rank"])
    return flags
