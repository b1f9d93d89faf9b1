"""The one-page holistic summary of a person, shaped for the template.

Everything a clinician needs in a consultation on one page: who the person is and how to reach
them, what matters to them, all their conditions together, medicines, social circumstances,
frailty and cluster, one timeline across every organisation, waiting referrals, key results with
trends, the care plan and open tasks.

It must load fast on a large record, so the number of queries is fixed (one per section, never one
per row): `tests/web/test_summary.py` holds it to a ceiling.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.utils import timezone
from markupsafe import Markup

from careweave.care import links as care_link
from careweave.contact.presenters import communication_needs, communication_rows
from careweave.governance import consent
from careweave.governance.consent import RecordView
from careweave.huddles.models import Task
from careweave.medicines.presenters import summary_findings
from careweave.monitoring.models import HomeReading
from careweave.monitoring.presenters import home_reading_rows
from careweave.population.cluster_sentence import person_sentence_from_profile
from careweave.population.continuity.sentence import usual_gp
from careweave.record import models as rm
from careweave.segmentation.continuity import person_gp_contacts
from careweave.segmentation.freshness import Freshness, freshness
from careweave.segmentation.models import Cluster, PersonSegment, WorklistEntry, WorklistOverride
from careweave.segmentation.services import current_run, worklist_titles
from careweave.terminology.exclusions import load_exclusions
from careweave.terminology.loading.units import load_units
from careweave.terminology.units import UNRECOGNISED_NOTE, USABLE
from careweave.ui.format import (
    NOT_RECORDED,
    age_in_years,
    format_date,
    staff_name_and_role,
)
from careweave.web import charts
from careweave.web.presenters import (
    ACTIVE_CLINICAL_STATUSES,
    KEY_MEASUREMENTS,
    OPEN_REFERRAL_STATUSES,
    AllergiesAndAlerts,
    PersonDetails,
    _condition_library,
    allergies_and_alerts,
    describe_wait,
    number_text,
)
from careweave.web.referral_detail import person_referrals
from careweave.web.timeline import APPOINTMENT_STATES, ATTENDED, TimelineEntry, TimelineFilter

MAX_TIMELINE = 100
MAX_TREND_POINTS = 12
OTHER_BODY_SYSTEM = "Other conditions"


@dataclass(frozen=True)
class Reading:
    date: str
    value: str


@dataclass(frozen=True)
class Trend:
    label: str
    latest: str
    latest_date: str
    readings: list[Reading]  # oldest first: the table fallback; all in the canonical unit
    chart: Markup
    # readings whose unit could not be converted: shown as sent, flagged, never charted (newest first)
    not_converted: list[Reading] = field(default_factory=list)


@dataclass
class Summary(PersonDetails):
    alerts: AllergiesAndAlerts
    birth: str
    age: str
    carers: list[dict[str, Any]] = field(default_factory=list)
    coordinator: dict[str, str] | None = None
    care_team_url: str = ""
    care_plan_new_url: str = ""
    what_matters: str = ""
    condition_groups: list[tuple[str, list[dict[str, str]]]] = field(default_factory=list)
    past_conditions: list[dict[str, str]] = field(default_factory=list)
    long_term_condition_count: int = 0
    medicines: list[dict[str, str]] = field(default_factory=list)
    social_circumstances: list[dict[str, str]] = field(default_factory=list)
    frailty: dict[str, str] | None = None
    cluster: dict[str, str] | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    open_referrals: list[dict[str, str]] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)  # every referral, its state and wait
    trends: list[Trend] = field(default_factory=list)
    home_readings: list[dict[str, Any]] = field(default_factory=list)  # apart from the clinic's (ADR 0018)
    care_plan: dict[str, str | bool] | None = None
    open_tasks: list[dict[str, Any]] = field(default_factory=list)
    worklists: list[dict[str, Any]] = field(default_factory=list)
    removed_from: list[dict[str, str]] = field(default_factory=list)
    addable_worklists: list[dict[str, str]] = field(default_factory=list)
    # When the worklists were computed (a warning past a day); None before the first run
    lists_freshness: Freshness | None = None
    # "Saw their usual GP at 7 of their last 10 appointments" (empty: too few GP contacts)
    gp_continuity: str = ""
    address: str = ""
    # the active conditions in one short list, long-term conditions first (the problem list at the top)
    problems: list[dict[str, str]] = field(default_factory=list)
    timeline_filter: TimelineFilter = field(default_factory=lambda: TimelineFilter())
    timeline_sectors: list[str] = field(default_factory=list)
    timeline_organisations: list[str] = field(default_factory=list)
    timeline_hidden: int = 0
    withheld: list[str] = field(default_factory=list)  # parts left out for this user (ADR 0021)
    restricted: bool = False  # the user's view leaves parts out: the page says so, whatever they hold
    # the top line: Accessible Information Standard needs by name, "Needs an interpreter" first (issue 18)
    communication_needs: list[str] = field(default_factory=list)
    medicines_findings: Any = None  # careweave.medicines.presenters.SummaryFindings (issue 13)


def holistic_summary(
    person: rm.Person, timeline: TimelineFilter | None = None, view: RecordView | None = None
) -> Summary:
    age = age_in_years(person.birth_date)
    summary = Summary.of(
        person,
        birth=format_date(person.birth_date),
        age=("Died " + format_date(person.deceased_date))
        if person.deceased
        else (str(age) if age is not None else NOT_RECORDED),
        alerts=allergies_and_alerts(person),  # first on the page, before anything else
        address=_address(person),
        timeline_filter=timeline or TimelineFilter(),
    )
    summary.carers = [_carer(p) for p in person.related_people.order_by("-is_carer", "-is_next_of_kin", "name")]
    summary.communication_needs = communication_needs(person)
    _care(summary, person)
    _conditions(summary, person, view)
    summary.medicines = [
        {
            "name": m.display or m.code or NOT_RECORDED,
            "dose": m.dose_text or NOT_RECORDED,
            "since": format_date(m.authored_on),
        }
        for m in person.medications.filter(status="active").order_by("display", "pk")
    ]
    summary.medicines_findings = summary_findings(person)  # loaded after the page (issue 13)
    summary.social_circumstances = [
        {
            "kind": words(s.kind),
            "detail": words(s.display) if s.display else s.code,
            "recorded": format_date(s.recorded),
        }
        for s in person.social_circumstances.order_by("-recorded", "-pk")
    ]
    _segment(summary, person)
    _gp_continuity(summary, person)
    _timeline_and_referrals(summary, person)
    summary.referrals = person_referrals(person)
    summary.trends = key_result_trends(person)
    summary.home_readings = home_reading_rows(person)
    _worklists(summary, person)
    # Huddle tasks first, then the care plan's open actions (added by _care).
    summary.open_tasks[:0] = [
        {
            "description": t.description,
            "owner": staff_name_and_role(t.owner),
            "due": format_date(t.due_date),
            "overdue": t.due_date < timezone.localdate(),
            "source": "Huddle",
        }
        for t in Task.objects.filter(person=person, status=Task.Status.OPEN).select_related(
            "owner__staff_profile"
        )
    ]
    return summary


def words(text: str) -> str:
    """A code-like label in words: "lives_alone" and "Financial-hardship" read "Lives alone" and
    "Financial hardship" (values that are already words are left as they are)."""
    text = " ".join(text.replace("_", " ").split())
    return text[:1].upper() + text[1:] if text else text


def _address(person: rm.Person) -> str:
    address = person.address_text.strip()
    if person.postcode and person.postcode.replace(" ", "").upper() not in address.replace(" ", "").upper():
        address = f"{address}, {person.postcode}" if address else person.postcode
    return address or NOT_RECORDED


def _carer(related: rm.RelatedPerson) -> dict[str, str]:
    """A carer or next of kin in words, each role said once ("Daughter; carer", never "Next-of-Kin;
    Next of kin")."""
    said: list[str] = []
    for role in (
        related.relationship_display or related.relationship_code,
        "carer" if related.is_carer else "",
        "next of kin" if related.is_next_of_kin else "",
    ):
        plain = " ".join(role.replace("-", " ").replace("_", " ").split()).lower() if role else ""
        if plain and plain not in {r.lower() for r in said}:
            said.append(plain.capitalize() if not said else plain)
    return {"name": related.name or NOT_RECORDED, "relationship": "; ".join(said) or NOT_RECORDED,
            "contact": related.telecom}


def _care(summary: Summary, person: rm.Person) -> None:
    """Co-ordinator, care plan and its open actions, from the care app."""
    coordinator = care_link.coordinator(person)
    if coordinator is not None:
        summary.coordinator = {"name": staff_name_and_role(coordinator.user), "role": coordinator.role_in_team,
                               "contact": coordinator.contact}
    summary.care_team_url = care_link.care_team_url(person)
    summary.care_plan_new_url = care_link.care_plan_url(person)
    plan = care_link.current_care_plan(person)
    if plan is None:
        return
    review = plan.review_date
    summary.care_plan = {
        "status": plan.get_status_display(),
        "version": str(plan.version),
        "review_date": format_date(review) if review else NOT_RECORDED,
        "review_overdue": bool(review and review < timezone.localdate()),
        "url": care_link.care_plan_url(person),
    }
    summary.what_matters = plan.what_matters
    summary.open_tasks.extend(
        {
            "description": action.description,
            "owner": staff_name_and_role(action.owner),
            "due": format_date(action.due_date) if action.due_date else "no date set",
            "overdue": bool(action.due_date and action.due_date < timezone.localdate()),
            "source": "Care plan",
        }
        for action in care_link.open_plan_actions(plan)
    )


def _conditions(summary: Summary, person: rm.Person, view: RecordView | None = None) -> None:
    library = _condition_library()
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    long_term: set[str] = set()
    conditions = sorted(person.conditions.all(), key=lambda c: (-(c.onset or date.min).toordinal(), c.pk))
    ignored = load_exclusions().ignored_everywhere
    for c in conditions:
        if c.verification_status in ignored:
            continue  # refuted or entered in error: not a condition at all (as the register treats it)
        if view is not None and not view.shows_code("Condition", c.code):
            summary.withheld.append(consent.part_of_code("Condition", c.code))  # not shared with this user
            continue
        row = {
            "name": c.display or c.code or NOT_RECORDED,
            "onset": format_date(c.onset),
            "status": (c.clinical_status or "not recorded").capitalize(),
        }
        # a missing clinical status counts as current, the same everywhere (terminology/data/exclusions.yaml)
        if c.clinical_status and c.clinical_status not in ACTIVE_CLINICAL_STATUSES:
            summary.past_conditions.append(row)
            continue
        ids = library.conditions_for_code(c.system, c.code)
        long_term.update(ids)
        system = library.by_id(ids[0]).body_system.capitalize() if ids else OTHER_BODY_SYSTEM
        groups[system].append(row)
    summary.long_term_condition_count = len(long_term)
    summary.problems = [
        {**row, "system": system}
        for system, rows in sorted(groups.items(), key=lambda kv: kv[0] == OTHER_BODY_SYSTEM)
        for row in rows
    ]
    # Body systems alphabetically; conditions outside the library last.
    summary.condition_groups = sorted(groups.items(), key=lambda kv: (kv[0] == OTHER_BODY_SYSTEM, kv[0]))


def _segment(summary: Summary, person: rm.Person) -> None:
    segment = (
        PersonSegment.objects.filter(person=person, run__is_current=True)
        .only("run_id", "cluster", "efi_score", "efi_category", "condition_count", "cms_score")
        .first()
    )
    if segment is None:
        return
    summary.frailty = {
        "category": segment.efi_category.capitalize() or NOT_RECORDED,
        "score": f"{segment.efi_score:.2f}",
    }
    if segment.cluster is not None:
        cluster = Cluster.objects.filter(run_id=segment.run_id, number=segment.cluster).first()
        if cluster is not None:
            summary.cluster = {
                "label": cluster.label,
                "staff_description": cluster.staff_description,
                "person_sentence": person_sentence_from_profile(
                    cluster.profile or {}, cluster.person_sentence, segment.condition_count
                ),
            }


def _sector(org: rm.Organisation | None) -> tuple[str, str]:
    if org is None:
        return NOT_RECORDED, rm.Sector.UNKNOWN.label
    return org.name or NOT_RECORDED, org.get_sector_display()


def _moment(value: date | datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=timezone.get_current_timezone())
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(datetime.combine(value, time.min))


def _timeline_and_referrals(summary: Summary, person: rm.Person) -> None:
    """One timeline of contacts, appointments and referrals across every organisation and sector: one
    row per contact (an appointment attended and the encounter it became are one row), filtered by
    sector, organisation and period (12 months unless asked)."""
    entries: list[TimelineEntry] = []
    seen: set[tuple[date, int | None]] = set()  # (day, organisation) of each encounter
    for e in person.encounters.select_related("organisation").order_by("-start", "-pk")[:MAX_TIMELINE * 2]:
        org, sector = _sector(e.organisation)
        when = _moment(e.start)
        seen.add((timezone.localtime(when).date() if e.start else date.min, e.organisation_id))
        entries.append(
            TimelineEntry(when, format_date(e.start), "Contact", e.type_display or e.class_code or NOT_RECORDED,
                          org, sector, e.unplanned)
        )
    for a in person.appointments.select_related("organisation").order_by("-start", "-pk")[:MAX_TIMELINE * 2]:
        day = timezone.localtime(_moment(a.start)).date() if a.start else date.min
        if a.status in ATTENDED and (day, a.organisation_id) in seen:
            continue  # the encounter it became is already its row
        org, sector = _sector(a.organisation)
        status = f" ({APPOINTMENT_STATES.get(a.status, a.status)})" if a.status and a.status not in ATTENDED else ""
        entries.append(
            TimelineEntry(_moment(a.start), format_date(a.start), "Appointment",
                          (a.description or "Appointment") + status, org, sector)
        )
    for r in person.referrals.filter(is_referral=True).select_related("to_organisation").order_by("-authored_on", "-pk"):
        org, sector = _sector(r.to_organisation)
        service = r.code_display or r.reason_display or NOT_RECORDED
        entries.append(
            TimelineEntry(
                _moment(r.authored_on), format_date(r.authored_on), "Referral", service, org, sector
            )
        )
        if r.status in OPEN_REFERRAL_STATUSES:
            summary.open_referrals.append(
                {
                    "service": service,
                    "to": org,
                    "priority": (r.priority or "").capitalize(),
                    "referred": format_date(r.authored_on),
                    "waiting": describe_wait(r.authored_on),
                    "waiting_days": str((timezone.localdate() - r.authored_on).days) if r.authored_on else "",
                }
            )
    # letters, texts, emails and app messages sent (issue 18): the channel actually used and its status
    entries += [TimelineEntry(c.when, format_date(c.when), c.kind, c.description, c.organisation, c.sector)
                for c in communication_rows(person)]
    entries.sort(key=lambda t: t.when, reverse=True)
    summary.timeline_sectors = sorted({e.sector for e in entries})
    summary.timeline_organisations = sorted({e.organisation for e in entries})
    shown = [e for e in entries if summary.timeline_filter.keeps(e)]
    summary.timeline = shown[:MAX_TIMELINE]
    summary.timeline_hidden = len(entries) - len(summary.timeline)


def _value(value: float) -> str:
    return number_text(value)


def key_result_trends(person: rm.Person) -> list[Trend]:
    """Blood pressure, HbA1c, eGFR and weight: the latest value and a sparkline of recent readings.

    Every value charted is in the canonical unit for its code (converted on import, never relabelled);
    a reading whose unit could not be converted is listed as sent, flagged, and left out of the chart."""
    code_to_key = {
        (system, code): key for key, (_label, codes) in KEY_MEASUREMENTS.items() for system, code in codes
    }
    series: dict[str, list[tuple[datetime, float, str]]] = defaultdict(list)
    not_converted: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for obs in (
        person.observations.filter(code__in={code for _s, code in code_to_key}, value__isnull=False)
        .exclude(effective=None)
        .exclude(resource_id__in=HomeReading.objects.filter(person=person).values("resource_id"))  # clinic only
        .order_by("-effective", "-pk")
        .only("person_id", "system", "code", "effective", "value", "unit", "value_canonical", "unit_canonical",
              "unit_status")
    ):
        key = code_to_key.get((obs.system, obs.code))
        when, value = obs.effective, obs.value_canonical
        if key is None or when is None or obs.value is None:
            continue
        if obs.unit_status in USABLE and value is not None:
            if len(series[key]) < MAX_TREND_POINTS and (not series[key] or series[key][0][2] == obs.unit_canonical):
                series[key].append((when, value, obs.unit_canonical))
        elif len(not_converted[key]) < MAX_TREND_POINTS:
            not_converted[key].append((when, f"{_value(obs.value)} {obs.unit}".strip()))
    units = load_units()
    trends = []
    systolic, diastolic = series.pop("systolic", []), series.pop("diastolic", [])
    flagged_bp = not_converted.pop("systolic", []) + not_converted.pop("diastolic", [])
    if systolic or flagged_bp:
        by_day = {format_date(when): value for when, value, _unit in diastolic}
        readings = [
            Reading(
                format_date(when),
                f"{_value(value)}/{_value(by_day[format_date(when)])}"
                if format_date(when) in by_day
                else _value(value),
            )
            for when, value, _unit in reversed(systolic)
        ]
        values = [value for _when, value, _unit in reversed(systolic)]
        trends.append(_trend("Blood pressure", "mmHg", readings, values, "systolic", flagged_bp))
    for key in ("hba1c", "egfr", "weight"):
        points = list(reversed(series.get(key, [])))
        if points or not_converted.get(key):
            unit = units.display(points[-1][2]) if points else ""
            readings = [Reading(format_date(when), _value(value)) for when, value, _unit in points]
            trends.append(
                _trend(KEY_MEASUREMENTS[key][0], unit, readings, [v for _w, v, _u in points], "",
                       not_converted.get(key, []))
            )
    return trends


def _trend(
    label: str,
    unit: str,
    readings: list[Reading],
    values: list[float],
    charted: str = "",
    not_converted: list[tuple[datetime, str]] | None = None,
) -> Trend:
    flagged = [
        Reading(format_date(when), f"{text} ({UNRECOGNISED_NOTE})")
        for when, text in sorted(not_converted or [], key=lambda p: p[0], reverse=True)
    ]
    if not readings:  # nothing in a unit the record can convert: say so, draw nothing
        return Trend(label, flagged[0].value, flagged[0].date, [], Markup(""), flagged)
    first, last = readings[0], readings[-1]
    what = f"{label}{' (' + charted + ')' if charted else ''}"
    if len(readings) == 1:
        alt = f"{what}: one reading, {last.value} {unit} on {last.date}"
    else:
        alt = f"{what}: {len(readings)} readings from {first.value} {unit} on {first.date} to {last.value} {unit} on {last.date}"
    return Trend(
        label=label,
        latest=f"{last.value} {unit}".strip(),
        latest_date=last.date,
        readings=[Reading(r.date, f"{r.value} {unit}".strip()) for r in readings],
        chart=charts.sparkline(values, label=alt),
        not_converted=flagged,
    )


def _worklists(summary: Summary, person: rm.Person) -> None:
    titles = worklist_titles()
    on_lists = {}
    for entry in WorklistEntry.objects.filter(run__is_current=True, person=person).order_by("list_id"):
        on_lists[entry.list_id] = {
            "id": entry.list_id,
            "title": titles.get(entry.list_id, entry.list_id),
            "reasons": entry.reasons,
            "added_by_clinician": entry.added_by_clinician,
        }
    summary.worklists = list(on_lists.values())
    run = current_run()
    summary.lists_freshness = freshness(run) if run is not None else None
    summary.removed_from = [
        {
            "title": titles.get(o.list_id, o.list_id),
            "by": staff_name_and_role(o.user),
            "when": format_date(o.created_at),
            "reason": o.reason,
        }
        for o in WorklistOverride.objects.filter(
            person=person, active=True, action=WorklistOverride.Action.REMOVE
        )
        .select_related("user__staff_profile")
        .order_by("-created_at")
    ]
    summary.addable_worklists = [{"id": i, "title": t} for i, t in titles.items() if i not in on_lists]


def _gp_continuity(summary: Summary, person: rm.Person) -> None:
    """Continuity with their GP in words (one query; rules in terminology/data/continuity.yaml)."""
    usual = usual_gp(person_gp_contacts(person))
    summary.gp_continuity = usual.sentence if usual else ""
