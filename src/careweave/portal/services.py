"""What the person (or their carer) does in their own view: add to what matters to them, ask their
team a question (each becomes a task for the named co-ordinator, on the staff task list), and a
carer records their own needs. Atomic, keyword-only, each opened and audited as the person or as the
carer acting for them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from careweave.care import services as care
from careweave.governance.access import Permission, RecordAccess, open_record
from careweave.huddles.models import Task
from careweave.portal.accounts import AccountError, account_of
from careweave.portal.models import CarerNeeds, PersonMessage, Share
from careweave.record import models as rm

MAX_TEXT = 2000
#: A question gets an answer within two working days (the practice may set its own).
ANSWER_WITHIN = timedelta(days=2)


def open_own(
    *,
    user: Any,
    person: rm.Person,
    share: str,
    action: str,
    resource_type: str = "Patient",
    audit: bool = True,
) -> RecordAccess:
    """The person's own record, or a carer's view of it: decided and audited by governance."""
    return open_record(
        user=user,
        person=person,
        action=action,
        permission=Permission.OWN_RECORD,
        share=share,
        resource_type=resource_type,
        channel="portal",
        audit=audit,
    )


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise AccountError(f"Enter {what}", "text")
    if len(text) > MAX_TEXT:
        raise AccountError(f"{what[0].upper()}{what[1:]} must be {MAX_TEXT} characters or fewer", "text")
    return text


def _task_for_team(*, person: rm.Person, writer: Any, description: str) -> Task:
    lead = care.coordinator(person)
    owner = lead.user if lead is not None else next((m.user for m in care.care_team(person)), None)
    if owner is None:
        raise AccountError(
            "Your practice has not named anyone in your care team yet. Please phone your GP practice."
        )
    return Task.objects.create(
        person=person,
        description=description,
        owner=owner,
        due_date=timezone.localdate() + ANSWER_WITHIN,
        created_by=writer,
    )


@transaction.atomic
def add_what_matters(*, user: Any, person: rm.Person, text: str) -> PersonMessage:
    access = open_own(user=user, person=person, share=Share.PLAN, action="create", audit=False)
    text = _text(text, "what matters to you")
    proxy = access.decision.on_behalf == "proxy"
    who = "their carer" if proxy else "the person"
    task = _task_for_team(
        person=person,
        writer=user,
        description=f"Added by {who} to what matters to them (online): {text}\n"
        "Consider it at the next care plan review.",
    )
    message = PersonMessage.objects.create(
        person=person,
        kind=PersonMessage.Kind.WHAT_MATTERS,
        text=text,
        written_by=user,
        by_proxy=proxy,
        task=task,
    )
    access.audit(
        action="create",
        resource_type="Communication",
        resource_id=f"portal-message-{message.pk}",
        channel="portal",
    )
    return message


@transaction.atomic
def ask_question(*, user: Any, person: rm.Person, text: str) -> PersonMessage:
    access = open_own(user=user, person=person, share=Share.MESSAGES, action="create", audit=False)
    text = _text(text, "your question")
    proxy = access.decision.on_behalf == "proxy"
    who = "their carer" if proxy else "the person"
    task = _task_for_team(
        person=person,
        writer=user,
        description=f"Question from {who} (online): {text}\nReply to them and mark this done.",
    )
    message = PersonMessage.objects.create(
        person=person, kind=PersonMessage.Kind.QUESTION, text=text, written_by=user, by_proxy=proxy, task=task
    )
    access.audit(
        action="create",
        resource_type="Communication",
        resource_id=f"portal-message-{message.pk}",
        channel="portal",
    )
    return message


@transaction.atomic
def record_carer_needs(*, user: Any, person: rm.Person, needs: str, wants_assessment: bool) -> CarerNeeds:
    """A carer's own needs and whether they want a carer's assessment: a task for the co-ordinator
    when they ask for one (the local authority's duty under the Care Act 2014 s.10)."""
    access = open_own(user=user, person=person, share="", action="create", audit=False)
    account = account_of(user)
    if account is None or access.decision.on_behalf != "proxy":
        raise AccountError("Only a carer can record a carer's needs")
    needs = needs.strip()
    if len(needs) > MAX_TEXT:
        raise AccountError(f"Your needs must be {MAX_TEXT} characters or fewer", "needs")
    latest = CarerNeeds.objects.filter(account=account, person=person).first()
    saved = CarerNeeds.objects.create(
        account=account, person=person, needs=needs, wants_assessment=wants_assessment
    )
    if wants_assessment and (latest is None or not latest.wants_assessment):
        _task_for_team(
            person=person,
            writer=user,
            description=f"The carer ({account.display_name}) asks for a carer's assessment. "
            "Refer them to adult social care or the local carers' service.",
        )
    access.audit(
        action="create",
        resource_type="Observation",
        resource_id=f"carer-needs-{saved.pk}",
        reason="carer's own needs",
        channel="portal",
    )
    return saved


def carer_needs(*, user: Any, person: rm.Person) -> CarerNeeds | None:
    account = account_of(user)
    if account is None:
        return None
    return CarerNeeds.objects.filter(account=account, person=person).first()


@transaction.atomic
def reply_to_question(*, user: Any, message: PersonMessage, text: str) -> PersonMessage:
    """A member of the person's team answers their question: the person sees the answer in their
    view, and the question's task is done. Clinical staff with a relationship only (governance)."""
    access = open_record(
        user=user,
        person=message.person,
        action="update",
        resource_type="Communication",
        resource_id=f"portal-message-{message.pk}",
        permission=Permission.WRITE_RECORDS,
        audit=False,
    )
    if message.kind != PersonMessage.Kind.QUESTION:
        raise AccountError("Only a question can be answered", "reply")
    reply = _text(text, "your reply")
    message.reply, message.replied_by, message.replied_at = reply, user, timezone.now()
    message.save(update_fields=["reply", "replied_by", "replied_at"])
    if message.task is not None and message.task.status != Task.Status.DONE:
        message.task.status, message.task.completed_at = Task.Status.DONE, timezone.now()
        message.task.save(update_fields=["status", "completed_at"])
    access.audit(
        action="update",
        resource_type="Communication",
        resource_id=f"portal-message-{message.pk}",
        reason="answered the person's question",
    )
    return message
