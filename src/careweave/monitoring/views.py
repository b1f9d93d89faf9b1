"""The team's side of home readings: the open alerts for people in the user's care, and the reply
(seen with a comment the person will read, or done). Thin: `alerts.act_on_alert` decides, writes
and audits."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from careweave.governance.access import Permission
from careweave.governance.audit import record_views
from careweave.monitoring import alerts, presenters
from careweave.monitoring.models import HomeReadingAlert
from careweave.ui.guards import requires

logger = logging.getLogger(__name__)
workspace = requires(Permission.USE_WORKSPACE)


@require_GET
@workspace
def alert_list(request: HttpRequest) -> HttpResponse:
    rows = presenters.alert_rows(request.user)
    record_views(
        actor=request.user,
        person_ids=[r["person_pk"] for r in rows],
        action="home-readings-read",
        resource_type="Task",
    )
    return render(request, "monitoring/alerts.html", {"alerts": rows})


@require_POST
@workspace
def act(request: HttpRequest, alert_pk: int) -> HttpResponse:
    alert = get_object_or_404(
        HomeReadingAlert.objects.select_related("person__resource", "task"), pk=alert_pk
    )
    action = request.POST.get("action", "")
    try:
        alerts.act_on_alert(
            user=request.user, alert=alert, action=action, comment=request.POST.get("comment", "")
        )
    except alerts.AlertError as problem:
        messages.error(request, str(problem))
        return redirect(reverse("monitoring:alerts") + f"#alert-{alert_pk}")
    logger.info("home reading alert %s alert_id=%s user_id=%s", action, alert_pk, request.user.pk)
    messages.success(
        request, "Marked as seen: the person can read your reply" if action == "seen" else "Marked as done"
    )
    return redirect("monitoring:alerts")
