"""Pages for the care plan, the care team and handover notes.

Views are thin: each page opens the person's record through `services.open_care_record`
(governance.open_record underneath: decided and audited, the allow and the deny), each change opens
it once in `services`, and `presenters` shapes the data. A refusal is `AccessRefused`, answered with
the 403 page (and its break-glass form) by the `requires` guard.
Every form is a plain POST that redirects (POST-redirect-GET), so nothing needs JavaScript; htmx
only saves a page load when adding a handover note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from careweave.care import contacts, presenters, services
from careweave.care.forms import PlanForm
from careweave.care.models import CarePlanStatus, CareTeamContact, GoalStatus
from careweave.care.pdf import care_plan_pdf
from careweave.governance.access import Permission, RecordAccess
from careweave.governance.models import CareTeamMember
from careweave.record import models as rm
from careweave.ui.guards import View, requires
from careweave.ui.http import HtmxHttpRequest

logger = logging.getLogger(__name__)


def _person(person_pk: int) -> rm.Person:
    return get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)


# Clinical staff only; each person's record is then decided by open_record.
clinical_staff_only = requires(Permission.CARE_PLANNING)


def care_page(*methods: str) -> Callable[[View], View]:
    """A page of one person's care: it answers ``methods``, to clinical staff only, and is handed the
    person (404 when there is none) in place of the URL's ``person_pk``."""

    def decorate(view: View) -> View:
        @require_http_methods(list(methods))
        @clinical_staff_only
        @wraps(view)
        def page(request: HttpRequest, person_pk: int, **kwargs: Any) -> HttpResponse:
            return view(request, _person(person_pk), **kwargs)

        return page

    return decorate


def _open(
    request: HttpRequest, person: rm.Person, action: str, resource_type: str, resource_id: str = ""
) -> RecordAccess:
    """The person's record opened for this page, audited; a refusal (audited too) raises `AccessRefused`."""
    return services.open_care_record(
        user=request.user, person=person, action=action, resource_type=resource_type, resource_id=resource_id
    )


def _owner_choices(person: rm.Person, plan: Any) -> list[tuple[str, str]]:
    choices = [(str(m.user_id), presenters.staff_label(m.user)) for m in services.care_team(person)]
    # A done action may be owned by someone who has since left the team; keep them choosable for it.
    known = {pk for pk, _ in choices}
    for action in plan.actions.all() if plan else ():
        if str(action.owner_id) not in known:
            known.add(str(action.owner_id))
            choices.append(
                (str(action.owner_id), f"{presenters.staff_label(action.owner)} (left the care team)")
            )
    return choices


# -- the plan -----------------------------------------------------------------------------------------


@care_page("GET")
def plan(request: HttpRequest, person: rm.Person) -> HttpResponse:
    requested = request.GET.get("version", "")
    requested = requested if requested.isdigit() and len(requested) < 9 else ""
    resource_id = services.care_plan_id(person) + (f"/_history/{requested}" if requested else "")
    access = _open(request, person, "read", "CarePlan", resource_id)
    if requested:
        shown = services.care_plan_version(person, int(requested))
        if shown is None:
            raise Http404("no such version")
    else:
        shown = services.current_care_plan(person)
    context = {
        "heading": presenters.person_heading(person),
        "plan": presenters.as_seen_by(presenters.plan_view(shown), access) if shown else None,
        "versions": presenters.version_rows(services.care_plan_versions(person)),
        "coordinator": services.coordinator(person),
        "decision": access,
        "staff_label": presenters.staff_label,
    }
    return render(request, "care/plan.html", context)


@care_page("GET", "POST")
def plan_edit(request: HttpRequest, person: rm.Person) -> HttpResponse:
    current = services.current_care_plan(person)
    if request.method == "GET":
        form = PlanForm.from_plan(services.plan_data_from(current), _owner_choices(person, current))
        return _edit_page(request, person, form, current)

    form = PlanForm.from_post(request.POST, _owner_choices(person, current))
    if "add_rows" in request.POST:  # the no-JavaScript way to get more blank rows; nothing is saved
        form.add_blank_rows()
        return _edit_page(request, person, form, current)
    if form.is_valid():
        assert form.cleaned is not None
        try:  # the save opens the record once, and refuses (AccessRefused) anyone outside the person's care
            saved = services.save_care_plan(user=request.user, person=person, data=form.cleaned)
        except services.CarePlanError as problem:
            # e.g. an owner left the care team while the form was open
            form.errors = [("actions", message) for message in dict.fromkeys(problem.problems.values())]
        else:
            logger.info("care plan saved person_id=%s version=%s", person.pk, saved.version)
            messages.success(request, f"Care plan saved as version {saved.version}")
            return redirect("care:plan", person_pk=person.pk)
    return _edit_page(request, person, form, current, status=400)


def _edit_page(
    request: HttpRequest, person: rm.Person, form: PlanForm, current: Any, status: int = 200
) -> HttpResponse:
    # the form, shown first or again (more rows, or errors), is a view of the plan
    access = _open(request, person, "read", "CarePlan")
    context = {
        "heading": presenters.person_heading(person),
        "form": form,
        "current": current,
        "decision": access,
        "plan_statuses": CarePlanStatus.choices,
        "goal_statuses": GoalStatus.choices,
        "has_team": bool(services.care_team(person)),
    }
    return render(request, "care/plan_edit.html", context, status=status)


@care_page("POST")
def action_done(request: HttpRequest, person: rm.Person, position: int) -> HttpResponse:
    try:
        saved = services.complete_action(user=request.user, person=person, position=position)
    except services.CarePlanError as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, f"Action marked as done. Care plan saved as version {saved.version}")
    return redirect("care:plan", person_pk=person.pk)


@care_page("GET")
def plan_print(request: HttpRequest, person: rm.Person) -> HttpResponse:
    access = _open(request, person, "print", "CarePlan")
    current = services.current_care_plan(person)
    context = {
        "heading": presenters.person_heading(person),
        "plan": presenters.as_seen_by(presenters.plan_view(current), access) if current else None,
        "team": _whole_team(person),
        "large": request.GET.get("large") == "1",
        "medicines": presenters.my_medicines(person, access),
    }
    return render(request, "care/plan_print.html", context)


@care_page("GET")
def plan_pdf(request: HttpRequest, person: rm.Person) -> HttpResponse:
    access = _open(request, person, "export", "CarePlan")
    current = services.current_care_plan(person)
    if current is None:
        raise Http404("no care plan yet")
    large = request.GET.get("large") == "1"
    content = care_plan_pdf(
        presenters.person_heading(person),
        presenters.as_seen_by(presenters.plan_view(current), access),
        _whole_team(person),
        large_print=large,
        medicines=presenters.my_medicines(person, access),
    )
    response = HttpResponse(content, content_type="application/pdf")
    # No name in the file name: downloads folders and proxies keep file names.
    suffix = "-large-print" if large else ""
    response["Content-Disposition"] = f'inline; filename="care-plan-v{current.version}{suffix}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# -- the care team and handover notes -----------------------------------------------------------------


def _to_team(request: HttpRequest, person: rm.Person, done: str) -> HttpResponse:
    """After a change to the team: say what was done, and show the team again (POST-redirect-GET)."""
    messages.success(request, done)
    return redirect("care:team", person_pk=person.pk)


def _whole_team(person: rm.Person) -> list[dict[str, Any]]:
    """Staff members (the co-ordinator first) and then everyone without a CareWeave account."""
    return presenters.team_rows(services.care_team(person)) + presenters.contact_rows(contacts.contacts(person))


def _team_context(
    request: HttpRequest, person: rm.Person, access: RecordAccess, **extra: Any
) -> dict[str, Any]:
    members = services.care_team(person)
    staff_query = (request.GET.get("staff") or request.POST.get("staff") or "").strip()[:100]
    context = {
        "heading": presenters.person_heading(person),
        "team": presenters.team_rows(members),
        "contacts": presenters.contact_rows(contacts.contacts(person)),
        "carers_in_record": [(str(r.pk), presenters.related_person_label(r)) for r in contacts.carers_in_record(person)],
        "contact_kinds": CareTeamContact.Kind,
        "staff_query": staff_query,
        "max_candidates": services.STAFF_CHOICES,
        "candidates": [
            (str(u.pk), presenters.staff_label(u)) for u in services.staff_who_can_join(person, staff_query)
        ],
        "notes": presenters.note_rows(services.handover_notes(person)),
        "history": presenters.team_history_rows(services.care_team_history(person)),
        "decision": access,
        "errors": [],
        "values": {},
    }
    context.update(extra)
    return context


@care_page("GET")
def team(request: HttpRequest, person: rm.Person) -> HttpResponse:
    access = _open(request, person, "read", "CareTeam", services.care_team_id(person))
    return render(request, "care/team.html", _team_context(request, person, access))


def _team_error(
    request: HttpRequest, person: rm.Person, field: str, message: str, **values: str
) -> HttpResponse:
    access = _open(request, person, "read", "CareTeam", services.care_team_id(person))  # shown again
    context = _team_context(request, person, access, errors=[(field, message)], values=values)
    return render(request, "care/team.html", context, status=400)


@care_page("POST")
def team_add(request: HttpRequest, person: rm.Person) -> HttpResponse:
    member_pk, role_in_team = request.POST.get("member", ""), request.POST.get("role_in_team", "")[:128]
    member = get_user_model().objects.filter(pk=member_pk).first() if member_pk.isdigit() else None
    if member is None:
        return _team_error(
            request, person, "member", "Select who to add to the care team", role_in_team=role_in_team
        )
    try:
        added = services.add_team_member(
            user=request.user,
            person=person,
            member=member,
            role_in_team=role_in_team,
            as_coordinator=request.POST.get("coordinator") == "yes",
            contact=request.POST.get("contact", "")[:255],
        )
    except services.CareTeamError as problem:
        return _team_error(
            request, person, "member", str(problem), member=member_pk, role_in_team=role_in_team
        )
    as_coordinator = " as the named co-ordinator" if added.is_coordinator else ""
    return _to_team(request, person, f"{presenters.staff_name(member)} added to the care team{as_coordinator}")


def _member(person: rm.Person, member_pk: int) -> CareTeamMember:
    return get_object_or_404(CareTeamMember.objects.select_related("user"), pk=member_pk, person=person)


@care_page("POST")
def team_coordinator(request: HttpRequest, person: rm.Person, member_pk: int) -> HttpResponse:
    member = _member(person, member_pk)
    services.set_coordinator(user=request.user, person=person, member=member)
    return _to_team(request, person, f"{presenters.staff_name(member.user)} is now the named co-ordinator")


@care_page("POST")
def team_remove(request: HttpRequest, person: rm.Person, member_pk: int) -> HttpResponse:
    member = _member(person, member_pk)
    try:
        services.remove_team_member(user=request.user, person=person, member=member)
    except services.CareTeamError as problem:
        return _team_error(request, person, f"member-{member.pk}", str(problem))
    return _to_team(request, person, f"{presenters.staff_name(member.user)} removed from the care team")


@care_page("POST")
def team_member_contact(request: HttpRequest, person: rm.Person, member_pk: int) -> HttpResponse:
    member = _member(person, member_pk)
    given = request.POST.get("contact", "")
    try:
        contacts.set_member_contact(user=request.user, person=person, member=member, contact=given)
    except services.CareTeamError as problem:
        return _team_error(request, person, f"member-{member.pk}", str(problem))
    return _to_team(request, person, f"How to reach {presenters.staff_name(member.user)} saved")


@care_page("POST")
def team_contact_add(request: HttpRequest, person: rm.Person) -> HttpResponse:
    """Add the person, a carer from the record, or a professional without a CareWeave account."""
    kind = request.POST.get("kind", "")
    related = None
    if kind == CareTeamContact.Kind.RELATED_PERSON:
        chosen = request.POST.get("related_person", "")
        related = rm.RelatedPerson.objects.filter(pk=chosen, person=person).first() if chosen.isdigit() else None
        if related is None:
            return _team_error(request, person, "related_person", "Choose a carer or family member recorded for them")
    values = {k: request.POST.get(k, "")[:300] for k in ("name", "role_in_team", "organisation", "contact")}
    try:
        added = contacts.add_contact(user=request.user, person=person, kind=kind, related_person=related, **values)
    except services.CareTeamError as problem:
        field = "name" if kind == CareTeamContact.Kind.PRACTITIONER else "kind"
        return _team_error(request, person, field, str(problem), **values)
    return _to_team(request, person, f"{added.name} added to the care team")


@care_page("POST")
def team_contact_remove(request: HttpRequest, person: rm.Person, contact_pk: int) -> HttpResponse:
    contact = get_object_or_404(CareTeamContact, pk=contact_pk, person=person)
    contacts.remove_contact(user=request.user, person=person, contact=contact)
    return _to_team(request, person, f"{contact.name} removed from the care team")


@care_page("POST")
def handover_add(request: HtmxHttpRequest, person: rm.Person) -> HttpResponse:
    text = request.POST.get("note", "")
    try:
        services.add_handover_note(user=request.user, person=person, text=text)
    except ValueError as problem:
        if request.htmx:  # htmx swaps only 2xx responses: send the section back with its error
            return _handover_section(request, person, errors=[("note", str(problem))], values={"note": text})
        return _team_error(request, person, "note", str(problem), note=text)
    if request.htmx:  # the notes section alone, with the new note at the top
        return _handover_section(request, person, added=True)
    return _to_team(request, person, "Handover note added")


def _handover_section(request: HttpRequest, person: rm.Person, **extra: Any) -> HttpResponse:
    access = _open(request, person, "read", "CareTeam", services.care_team_id(person))  # the notes are shown
    return render(request, "care/_handover.html", _team_context(request, person, access, **extra))
