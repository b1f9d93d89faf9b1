"""``careweave referrals scan``: the referral extract built from the record, the Django-free scan
(``careweave.population.referrals``) run on it, and the findings printed with NHS numbers.

Read as ``careweave register`` reads the record (the typed rows, plus the stored Appointments and
outcome letters for the links the record rows do not hold), and audited as a system event with
counts only, never patient data.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any

import orjson
import pyarrow as pa
from django.db.models import Count, Max, Q, Sum

from careweave.governance.audit import record_system_event
from careweave.population.referrals import Finding, ReferralExtract, ReferralScan, day_number, scan
from careweave.population.referrals.engines import Engine
from careweave.population.referrals.extract import SCHEMAS
from careweave.record import models as rm
from careweave.referrals.models import ReferralTask

CHUNK = 20_000
LETTER_TYPES = ("DocumentReference", "Composition")
CLOSED = ("rejected", "completed", "cancelled")


def _ref(reference: Any, kind: str) -> str | None:
    value = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(value, str) or not value.startswith(f"{kind}/"):
        return None
    return value[len(kind) + 1 :].split("/_history/")[0] or None


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _bodies(kinds: tuple[str, ...], people: Q) -> Iterator[tuple[str, str, dict[str, Any]]]:
    rows = rm.StoredResource.objects.filter(
        people, resource_type__in=kinds, person__isnull=False
    ).values_list("resource_type", "logical_id", "body")
    for kind, lid, body in rows.iterator(chunk_size=CHUNK):
        try:
            yield kind, lid, orjson.loads(body)
        except orjson.JSONDecodeError:
            continue


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


def _referrals(people: Q) -> list[dict[str, Any]]:
    rows = rm.Referral.objects.filter(people, is_referral=True).values_list(
        "resource__logical_id",
        "person_id",
        "person__nhs_number",
        "authored_on",
        "status",
        "reason_code",
        "from_organisation__ods_code",
        "from_organisation__resource__logical_id",
        "to_organisation__ods_code",
        "to_organisation__resource__logical_id",
    )
    return [
        {
            "referral_id": lid,
            "person_id": person,
            "nhs_number": nhs or None,
            "authored_day": day_number(authored),
            "status": status,
            "reason_code": reason,
            "from_service": from_ods or from_lid or "",
            "to_service": to_ods or to_lid or "",
        }
        for lid, person, nhs, authored, status, reason, from_ods, from_lid, to_ods, to_lid in rows.iterator(
            chunk_size=CHUNK
        )
    ]


def _tasks(people: Q) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    tasks: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    validations: list[dict[str, Any]] = []
    rows = (
        ReferralTask.objects.filter(people)
        .exclude(focus_id="")
        .values_list(
            "focus_id",
            "is_validation",
            "status",
            "business_status",
            "status_reason_code",
            "last_modified",
            "outputs",
        )
    )
    for focus, is_validation, status, business, reason, modified, refs in rows.iterator(chunk_size=CHUNK):
        if is_validation:
            if status == "completed":
                validations.append({"referral_id": focus, "validated_day": day_number(modified)})
            continue
        if business:
            tasks.append(
                {
                    "referral_id": focus,
                    "business_status": business,
                    "status_reason": reason or None,
                    "modified_day": day_number(modified),
                }
            )
        outputs.extend({"referral_id": focus, "letter_ref": ref} for ref in refs.split() if ref)
    return tasks, outputs, validations


def _appointments(people: Q) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _kind, _lid, body in _bodies(("Appointment",), people):
        for based_on in body.get("basedOn") or []:
            referral = _ref(based_on, "ServiceRequest")
            if referral:
                rows.append(
                    {
                        "referral_id": referral,
                        "status": str(body.get("status") or ""),
                        "start_day": day_number(_date(body.get("start"))),
                        "created_day": day_number(_date(body.get("created"))),
                    }
                )
    return rows


def _letters(people: Q) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kind, lid, body in _bodies(LETTER_TYPES, people):
        if body.get("status") in ("entered-in-error", "superseded"):
            continue
        context = body.get("context") if kind == "DocumentReference" else None
        related = (
            [r for r in (context or {}).get("related") or [] if _ref(r, "ServiceRequest")]
            if isinstance(context, dict)
            else []
        )
        day = day_number(_date(body.get("date")))
        base = {"letter_ref": f"{kind}/{lid}", "letter_day": day}
        rows.extend({**base, "related_referral_id": _ref(r, "ServiceRequest")} for r in related)
        if not related:
            rows.append({**base, "related_referral_id": None})
    return rows


def _reason_is_a(codes: set[str]) -> list[dict[str, Any]]:
    """SNOMED CT is-a pairs among the reason codes, from the organisation's loaded release (if any)."""
    from careweave.terminology.snomed import SnomedRelease

    wanted = sorted(int(c) for c in codes if c.isdigit() and len(c) <= 18)
    release = SnomedRelease.current()
    if release is None or not wanted:
        return []
    try:
        found = release.connection.execute(
            "SELECT descendant, ancestor FROM closure WHERE list_contains(?, ancestor) AND list_contains(?, descendant)",
            [wanted, wanted],
        ).fetchall()
    finally:
        release.close()
    return [{"descendant": str(d), "ancestor": str(a)} for d, a in found]


def _close_replaced(people: Q, tasks: list[dict[str, Any]]) -> None:
    """A referral another one `replaces` (re-referred elsewhere) no longer waits: unless its own Tasks
    already ended it (a rejection stays a rejection, for the loop rule), it is cancelled on the day
    the replacement was made."""
    ended = {t["referral_id"] for t in tasks if t["business_status"] in CLOSED}
    replaced = rm.Referral.objects.filter(people, is_referral=True, replaces__isnull=False).values_list(
        "replaces__resource__logical_id", "authored_on"
    )
    for old, when in replaced.iterator(chunk_size=CHUNK):
        if old not in ended:
            tasks.append(
                {
                    "referral_id": old,
                    "business_status": "cancelled",
                    "status_reason": None,
                    "modified_day": day_number(when),
                }
            )


def build_referral_extract(people: Q | None = None) -> ReferralExtract:
    """The extract of everyone's referrals, or only of the people a filter on ``person_id`` selects
    (``governance.access.in_care(user, "person_id")`` for the co-ordinator's worklist)."""
    people = people if people is not None else Q()
    referrals = _referrals(people)
    tasks, outputs, validations = _tasks(people)
    _close_replaced(people, tasks)
    return ReferralExtract(
        {
            "referral": _table("referral", referrals),
            "task": _table("task", tasks),
            "task_output": _table("task_output", outputs),
            "validation": _table("validation", validations),
            "appointment": _table("appointment", _appointments(people)),
            "letter": _table("letter", _letters(people)),
            "reason_is_a": _table(
                "reason_is_a", _reason_is_a({r["reason_code"] for r in referrals if r["reason_code"]})
            ),
        }
    )


def referral_findings(*, as_of: dt.date | None = None, engine: Engine = "duckdb") -> list[dict[str, Any]]:
    """Every finding on ``as_of`` (default today) as the printed objects, audited with counts only."""
    when = as_of or dt.date.today()
    extract = build_referral_extract()
    found = scan(extract, ReferralScan.of(when), engine)
    counts: dict[str, int] = {}
    for finding in found:
        counts[finding.finding] = counts.get(finding.finding, 0) + 1
    record_system_event(
        "referral-scan",
        "careweave referrals scan",
        detail=f"as of {when.isoformat()}: {extract.tables['referral'].num_rows} referrals, "
        + (", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "no findings"),
    )
    return [f.as_json() for f in found]


def findings_for(people: Q, *, as_of: dt.date | None = None) -> list[Finding]:
    """The findings about the people ``people`` selects (a filter on ``person_id``), on ``as_of``
    (default today). Not audited here: the caller shows them and audits each person shown."""
    return scan(build_referral_extract(people), ReferralScan.of(as_of or dt.date.today()), "duckdb")


#: what the scan reads besides the typed rows: a change to any of them (in the people asked about)
#: changes the findings
SCANNED_TYPES = ("ServiceRequest", "Task", "Appointment", *LETTER_TYPES)
_CACHE: OrderedDict[tuple[Hashable, dt.date, tuple[Any, ...]], list[Finding]] = OrderedDict()
_CACHE_SIZE = 64
_LOCK = threading.Lock()


def _signature(people: Q) -> tuple[Any, ...]:
    """What the people's referral record looks like now: how many resources the scan reads, whose, and
    when the latest was written (a write, new version, move or delete changes it, and so does a person
    with referrals coming into or leaving the user's care)."""
    found = rm.StoredResource.objects.filter(people, resource_type__in=SCANNED_TYPES).aggregate(
        n=Count("pk"), latest=Max("last_updated"), top=Max("pk"), who=Sum("person_id")
    )
    return (found["n"], found["latest"], found["top"], found["who"])


def cached_findings_for(people: Q, *, key: Hashable, as_of: dt.date | None = None) -> list[Finding]:
    """:func:`findings_for`, kept while the people's referral record is unchanged (per process, the
    last few `key`s, e.g. a user's id): the worklist need not run the scan on every request."""
    when = as_of or dt.date.today()
    cache_key = (key, when, _signature(people))
    with _LOCK:
        if cache_key in _CACHE:
            _CACHE.move_to_end(cache_key)
            return _CACHE[cache_key]
    found = findings_for(people, as_of=when)
    with _LOCK:
        _CACHE[cache_key] = found
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return found
