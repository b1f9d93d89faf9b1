"""``careweave referrals scan``: the referral extract built from the record, the Django-free scan
(``careweave.population.referrals``) run on it, and the findings printed with NHS numbers.

Read as ``careweave register`` reads the record (the typed rows, plus the stored Appointments and
outcome letters for the links the record rows do not hold), and audited as a system event with
counts only, never patient data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa

from careweave.governance.audit import record_system_event
from careweave.population.referrals import ReferralExtract, ReferralScan, day_number, scan
from careweave.population.referrals.engines import Engine
from careweave.population.referrals.extract import SCHEMAS
from careweave.record import models as rm
from careweave.referrals.models import ReferralTask

CHUNK = 20_000
LETTER_TYPES = ("DocumentReference", "Composition")


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


def _bodies(kinds: tuple[str, ...]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    rows = rm.StoredResource.objects.filter(resource_type__in=kinds, person__isnull=False).values_list(
        "resource_type", "logical_id", "body"
    )
    for kind, lid, body in rows.iterator(chunk_size=CHUNK):
        try:
            yield kind, lid, orjson.loads(body)
        except orjson.JSONDecodeError:
            continue


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


def _referrals() -> list[dict[str, Any]]:
    rows = rm.Referral.objects.values_list(
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


def _tasks() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    tasks: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    validations: list[dict[str, Any]] = []
    rows = ReferralTask.objects.exclude(focus_id="").values_list(
        "focus_id",
        "is_validation",
        "status",
        "business_status",
        "status_reason_code",
        "last_modified",
        "outputs",
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


def _appointments() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _kind, _lid, body in _bodies(("Appointment",)):
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


def _letters() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kind, lid, body in _bodies(LETTER_TYPES):
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


def build_referral_extract() -> ReferralExtract:
    referrals = _referrals()
    tasks, outputs, validations = _tasks()
    return ReferralExtract(
        {
            "referral": _table("referral", referrals),
            "task": _table("task", tasks),
            "task_output": _table("task_output", outputs),
            "validation": _table("validation", validations),
            "appointment": _table("appointment", _appointments()),
            "letter": _table("letter", _letters()),
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
