"""The summary as the user may see it: the parts of the record their role, their organisation's
sector and the person's sharing choices do not show are left out, and each part left out is audited
(governance decides the view: `RecordAccess.view`, ADR 0021). Left out means absent from the page:
no heading, count or "withheld" marker that would say what the part held."""

from __future__ import annotations

from typing import Any

from careweave.governance.access import RecordAccess
from careweave.record import models as rm
from careweave.ui.format import staff_name_and_role
from careweave.web.presenters import AllergiesAndAlerts
from careweave.web.summary import Summary

MENTAL_HEALTH_SECTOR = rm.Sector.MENTAL_HEALTH.label


def _clear_health_summary(summary: Summary) -> bool:
    """Everything of the health summary but the conditions (left out one by one by their part, as
    a mental health diagnosis may be shared when the rest is not) and whatever is derived from them."""
    held = bool(
        summary.trends
        or summary.timeline
        or summary.referrals
        or summary.open_referrals
        or summary.alerts.allergies
        or summary.alerts.flags
        or summary.frailty
        or summary.cluster
        or summary.worklists
    )
    summary.trends, summary.referrals, summary.open_referrals = [], [], []
    summary.timeline, summary.timeline_sectors, summary.timeline_organisations = [], [], []
    summary.timeline_hidden = 0
    summary.alerts = AllergiesAndAlerts(heading="Allergies and alerts are not shared with you")
    summary.frailty = summary.cluster = None
    summary.worklists, summary.removed_from, summary.addable_worklists = [], [], []
    summary.gp_continuity = ""
    return held


def _without_mental_health_services(summary: Summary) -> bool:
    """Contacts with and referrals to mental health services say what the part holds."""
    before = len(summary.timeline) + len(summary.open_referrals) + len(summary.referrals)
    summary.timeline = [e for e in summary.timeline if e.sector != MENTAL_HEALTH_SECTOR]
    summary.timeline_sectors = [s for s in summary.timeline_sectors if s != MENTAL_HEALTH_SECTOR]
    summary.open_referrals = [
        r for r in summary.open_referrals if MENTAL_HEALTH_SECTOR not in str(r.get("to"))
    ]
    summary.referrals = [r for r in summary.referrals if MENTAL_HEALTH_SECTOR not in str(r.get("sector", ""))]
    return before > len(summary.timeline) + len(summary.open_referrals) + len(summary.referrals)


def shared_summary(summary: Summary, access: RecordAccess, *, channel: str = "web") -> Summary:
    """Leave out of `summary` what `access.view` does not show, audit each part left out, and keep
    only the care plan actions the user owns where their role sees no others."""
    view = access.view
    withheld: set[str] = set(summary.withheld)
    if not view.shows("summary") and _clear_health_summary(summary):
        withheld.add("summary")
    if not view.shows("medicines") and summary.medicines:
        summary.medicines = []
        withheld.add("medicines")
    if not view.shows("mental-health") and _without_mental_health_services(summary):
        withheld.add("mental-health")
    if view.own_care_plan_actions_only:
        mine = staff_name_and_role(access.user)
        kept: list[dict[str, Any]] = [t for t in summary.open_tasks if t.get("owner") == mine]
        if len(kept) < len(summary.open_tasks):
            withheld.add("care-plan")
        summary.open_tasks = kept
    summary.restricted = bool(view.withheld())
    summary.withheld = sorted(withheld)
    if withheld:
        access.withhold(summary.withheld, channel=channel)
    return summary
