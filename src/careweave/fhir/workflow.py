"""FHIR Task, as the HL7 Clinical Order Workflows and BSeR guides use it for referrals (ADR 0012): its
record row (`referrals.ReferralTask`) and the check that a new version's business state follows from
the stored one (the transition table is reviewed data: terminology/data/referral_rules.yaml).

A Task's business state is its `businessStatus` code, or its `status` when that is one of the
referral states (requested, received, accepted, rejected, in-progress, completed, cancelled). A
waiting-list validation Task (its `code` is the reviewed validation code) carries no business state.
"""

from __future__ import annotations

from typing import Any

from careweave.fhir.imports.records import Item, RecordRows
from careweave.fhir.outcome import Refused
from careweave.fhir.projection import first_coding, parse_date, ref_id
from careweave.referrals.models import ReferralTask
from careweave.terminology.referrals import load_referral_rules


def focus_id(resource: dict[str, Any]) -> str | None:
    """The ServiceRequest a Task is about: its focus, else the first ServiceRequest it is basedOn."""
    found = ref_id(resource.get("focus"), "ServiceRequest")
    if found:
        return found
    return next(
        (lid for ref in resource.get("basedOn") or [] if (lid := ref_id(ref, "ServiceRequest"))), None
    )


def _outputs(resource: dict[str, Any]) -> str:
    refs = []
    for output in resource.get("output") or []:
        value = (output or {}).get("valueReference") or {}
        reference = value.get("reference") if isinstance(value, dict) else None
        if isinstance(reference, str) and "/" in reference:
            refs.append(reference.split("/_history/")[0][-200:])
    return " ".join(dict.fromkeys(refs))[:1024]


def task_fields(resource: dict[str, Any]) -> dict[str, Any]:
    """Task: what it is about, its business state and why, when it was set, and what came back."""
    rules = load_referral_rules()
    code = first_coding(resource.get("code"))
    is_validation = (
        code.get("system") == rules.validation_system and code.get("code") == rules.validation_code
    )
    # a chase asks the receiving service where the referral has got to: it is not the referral's state
    is_chase = code.get("system") == rules.chase_system and code.get("code") == rules.chase_code
    status = str(resource.get("status") or "")
    business = str(first_coding(resource.get("businessStatus")).get("code") or "")
    if not business and status in rules.states:
        business = status
    reason = first_coding(resource.get("statusReason"))
    period = resource.get("executionPeriod") or {}
    return {
        "focus_id": (focus_id(resource) or "")[:64],
        "code_system": (code.get("system") or "")[:255],
        "code": (code.get("code") or "")[:64],
        "is_validation": is_validation,
        "status": status[:32],
        "business_status": "" if is_validation or is_chase else business[:32],
        "status_reason_code": (reason.get("code") or "")[:64],
        "status_reason_display": (reason.get("display") or "")[:255],
        "authored_on": parse_date(resource.get("authoredOn")),
        "last_modified": parse_date(resource.get("lastModified"))
        or parse_date(period.get("end"))
        or parse_date(resource.get("authoredOn")),
        "outputs": _outputs(resource),
    }


def _check_transition(rows: RecordRows, item: Item, proposed: str) -> None:
    """Refuse a business state that does not follow from the stored one (409) or is unknown (422)."""
    previous = (
        ReferralTask.objects.filter(resource=item.stored).values_list("business_status", flat=True).first()
        if item.is_update
        else None
    )
    rules = load_referral_rules()
    error = rules.transition_error(previous or None, proposed)
    if error is None:
        return
    known = proposed in rules.states
    issue = rows.ctx.issue(item.entry, "business-rule" if known else "code-invalid", error, "businessStatus")
    raise Refused([issue], 409 if known else 422)


def task(rows: RecordRows, item: Item) -> None:
    """Project a Task into `referrals.ReferralTask`, refusing an invalid move of its business state."""
    body = item.body
    fields = task_fields(body)
    if fields["business_status"]:
        _check_transition(rows, item, fields["business_status"])
    fields["referral_id"] = rows.keys.of("ServiceRequest", fields["focus_id"] or None)
    fields["requester_organisation_id"] = rows.keys.of(
        "Organization", ref_id(body.get("requester"), "Organization")
    )
    fields["owner_organisation_id"] = rows.keys.of("Organization", ref_id(body.get("owner"), "Organization"))
    rows.upsert(ReferralTask, item, {"person_id": item.person_pk, **fields})
