"""FHIR Task, as the HL7 Clinical Order Workflows and BSeR guides use it for referrals (ADR 0012): its
record row (`referrals.ReferralTask`) and the check that a new version's business state follows from
the stored one (the transition table is reviewed data: terminology/data/referral_rules.yaml).

A Task's business state is its `businessStatus` code, or its `status` when that is one of the
referral states (requested, received, accepted, rejected, in-progress, completed, cancelled). A
waiting-list validation Task (its `code` is the reviewed validation code) carries no business state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from careweave.fhir.imports.records import Item, RecordRows
from careweave.fhir.outcome import Refused
from careweave.fhir.projection import first_coding, parse_date, ref_id
from careweave.referrals.models import ReferralTask, ReferralTaskState
from careweave.terminology.referrals import ReferralRules, load_referral_rules


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


def _rank(rules: ReferralRules) -> dict[str, int]:
    """Each state's depth in the transition table (requested 0, received 1 ...), to order states set
    on the same day."""
    depth = dict.fromkeys(rules.states, 0)
    for _ in rules.states:  # longest path; the table is acyclic
        for source, targets in rules.transitions.items():
            for target in targets:
                depth[target] = max(depth[target], depth[source] + 1)
    return depth


def version_order(resource: dict[str, Any] | None) -> tuple[dt.date, int]:
    """Where a Task version stands in its history: its own date, then its state's depth."""
    fields = task_fields(resource or {})
    return (
        fields["last_modified"] or dt.date.min,
        _rank(load_referral_rules()).get(fields["business_status"], 0),
    )


State = tuple[str, dt.date | None, str]  # business state, the day it was set, the reason's display


def _known_states(item: Item) -> dict[str, State]:
    """The states this Task has been in, from its stored history (or, for a row written before the
    history was kept, its current state)."""
    if not item.is_update:
        return {}
    known = {
        s: (s, on, reason)
        for s, on, reason in ReferralTaskState.objects.filter(resource=item.stored).values_list(
            "business_status", "on", "status_reason_display"
        )
    }
    if not known:
        row = (
            ReferralTask.objects.filter(resource=item.stored)
            .values_list("business_status", "last_modified", "status_reason_display")
            .first()
        )
        if row and row[0]:
            known[row[0]] = (row[0], row[1], row[2])
    return known


def _ordered(rows: RecordRows, item: Item, states: dict[str, State], proposed: str) -> list[State]:
    """The states in the order of their own dates (then of the transition table); every step must be
    allowed, else the write is refused (409), naming businessStatus."""
    rules = load_referral_rules()
    if proposed not in rules.states:
        message = rules.transition_error(None, proposed) or proposed
        raise Refused([rows.ctx.issue(item.entry, "code-invalid", message, "businessStatus")], 422)
    rank = _rank(rules)
    ordered = sorted(states.values(), key=lambda s: (s[1] or dt.date.min, rank.get(s[0], 0)))
    for before, after in zip(ordered, ordered[1:], strict=False):
        error = rules.transition_error(before[0], after[0])
        if error is not None:
            issue = rows.ctx.issue(item.entry, "business-rule", error, "businessStatus")
            raise Refused([issue], 409)
    return ordered


def task(rows: RecordRows, item: Item) -> None:
    """Project a Task into `referrals.ReferralTask` and its states into `ReferralTaskState`, in the
    order of the Task's own dates: a version that arrives after a later one is kept in the history
    but does not take the referral back; an invalid sequence of states is refused."""
    body = item.body
    fields = task_fields(body)
    proposed = fields["business_status"]
    if proposed:
        states = _known_states(item)
        for version in [*item.entry.versions, body]:  # earlier copies of it in the same unit, then this
            version_fields = task_fields(version) if version is not body else fields
            state = version_fields["business_status"]
            if state and state not in states:
                states[state] = (
                    state,
                    version_fields["last_modified"],
                    version_fields["status_reason_display"],
                )
        latest = _ordered(rows, item, states, proposed)[-1]
        if latest[0] != proposed:  # a late copy of an earlier version: the referral stays where it got to
            fields.update(business_status=latest[0], last_modified=latest[1], status_reason_display=latest[2])
            fields.pop("status_reason_code")
            fields.pop("outputs")
            fields.pop("status")
        _keep_states(item, fields["focus_id"], states)
    fields["referral_id"] = rows.keys.of("ServiceRequest", fields["focus_id"] or None)
    fields["requester_organisation_id"] = rows.keys.of(
        "Organization", ref_id(body.get("requester"), "Organization")
    )
    fields["owner_organisation_id"] = rows.keys.of("Organization", ref_id(body.get("owner"), "Organization"))
    if not item.is_update or not ReferralTask.objects.filter(resource=item.stored).exists():
        fields.setdefault("status_reason_code", "")
        fields.setdefault("outputs", "")
        fields.setdefault("status", "")
    rows.upsert(ReferralTask, item, {"person_id": item.person_pk, **fields})


def _keep_states(item: Item, focus: str, states: dict[str, State]) -> None:
    kept = (
        set(ReferralTaskState.objects.filter(resource=item.stored).values_list("business_status", flat=True))
        if item.is_update
        else set()
    )
    ReferralTaskState.objects.bulk_create(
        ReferralTaskState(
            resource=item.stored,
            person_id=item.person,
            focus_id=focus,
            business_status=state,
            status_reason_display=reason[:255],
            on=on,
        )
        for state, on, reason in states.values()
        if state not in kept
    )
