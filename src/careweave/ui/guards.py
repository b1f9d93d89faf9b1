"""Guards for workspace views, and the one place the web answers `AccessRefused`.

`requires(permission)` lets a view run for a signed-in user whose role holds the permission, and
turns any `AccessRefused` the view (or a service under it) raises into the 403 page: the break-glass
form when the refusal is about one person a clinician could open in an emergency, otherwise the
plain refusal. Views and services therefore raise, and never build refusal pages themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from careweave.governance.permissions import AccessRefused, Permission, has

NO_WORKSPACE = (
    "Your account cannot see people's records",
    "Only clinical staff see people's records here. Ask your administrator if your role is wrong.",
)
AUDIT_ONLY = (
    "Administrators do not see clinical records",
    "Your role manages accounts and reviews the audit log. Use the audit pages instead.",
)
AGGREGATES_ONLY = (
    "Analysts see aggregate figures only",
    "Your role gives you counts, registers and patterns across the population, never an individual's record.",
)


def lacking(user: Any, permission: Permission) -> AccessRefused:
    """The refusal for a user whose role does not hold a permission, explained by what it does hold."""
    if has(user, Permission.READ_AUDIT):
        heading, explanation = AUDIT_ONLY
    elif has(user, Permission.VIEW_POPULATION) and not has(user, Permission.USE_WORKSPACE):
        heading, explanation = AGGREGATES_ONLY
    else:
        heading, explanation = NO_WORKSPACE
    return AccessRefused(explanation, heading=heading)


def refused_page(
    request: HttpRequest, person_pk: int, reason: str, *, error: str = "", given: str = ""
) -> HttpResponse:
    """This person is outside the user's care: say so, and offer break-glass (/people/<pk>/break-glass/)."""
    context = {"person_pk": person_pk, "reason": reason, "error": error, "given": given}
    return render(request, "ui/refused.html", context, status=403)


def refusal_page(request: HttpRequest, refused: AccessRefused) -> HttpResponse:
    if refused.person_pk is not None:
        return refused_page(request, refused.person_pk, refused.reason)
    heading = refused.heading or "You cannot do this"
    explanation = refused.reason if refused.heading else refused.reason[:1].upper() + refused.reason[1:] + "."
    return render(request, "ui/forbidden.html", {"heading": heading, "explanation": explanation}, status=403)


View = Callable[..., HttpResponse]


def requires(permission: Permission, *, heading: str = "", explanation: str = "") -> Callable[[View], View]:
    """Signed in, and a role holding `permission` (else the refusal, with `heading` and `explanation`
    when given); an `AccessRefused` from inside the view is answered here too."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if not has(request.user, permission):
                    if heading:
                        raise AccessRefused(explanation, heading=heading)
                    raise lacking(request.user, permission)
                return view(request, *args, **kwargs)
            except AccessRefused as refused:
                return refusal_page(request, refused)

        return guarded

    return decorate


# The workspace lists and shows identifiable records: clinical staff only.
workspace_only = requires(Permission.USE_WORKSPACE)
