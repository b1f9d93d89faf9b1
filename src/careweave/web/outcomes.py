"""The analysts' outcomes page (issue 17, item 4): each measure by cluster, age band, sex, deprivation
quintile and ethnic group (Core20PLUS5), the most deprived fifth highlighted, and monthly trends as
XmR charts, for analysts only (`Permission.VIEW_OUTCOMES`). Served from the precomputed, already
suppressed `OutcomeSnapshot` (`outcomes_data`): the page never reads a person's row, so analysts never
see a person. When the snapshot is older than the current segmentation run the page says so and asks
the task queue for a new one (once: the `JobMark` pattern of ADR 0015).

  GET /population/outcomes/?by=imd        the page (by: cluster, age_band, sex, imd, ethnicity)
  GET /population/outcomes.csv            every figure on the page, as CSV
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from markupsafe import Markup

from careweave.governance.permissions import Permission
from careweave.jobs.models import JobMark
from careweave.questionnaires.models import OutcomeSnapshot
from careweave.segmentation.freshness import is_stale
from careweave.segmentation.services import current_run
from careweave.ui.format import format_date
from careweave.ui.guards import requires
from careweave.web.outcomes_aggregate import DIMENSIONS, MEASURES, Measure
from careweave.web.outcomes_charts import GroupBar, group_bars, spc_chart
from careweave.web.outcomes_data import REFRESH_OUTCOMES, refresh_outcomes_task
from careweave.web.outcomes_rules import HIDDEN_AT_OR_BELOW, xmr

HIDDEN: Final = f"{HIDDEN_AT_OR_BELOW} or fewer"
analysts_only = requires(
    Permission.VIEW_OUTCOMES,
    heading="Only analysts see the outcomes page",
    explanation="The outcomes page is for analysts of the population; the population page has the figures for your role.",
)


def figure(measure: Measure, value: float | None) -> str:
    if value is None:
        return "Hidden"
    if measure.kind == "rate":
        return f"{value:,.1f}"
    if measure.key == "upc":
        return f"{value:.2f}"
    return f"{value:,.1f}"


def count(value: int | None) -> str:
    return HIDDEN if value is None else f"{value:,}"


@dataclass
class MeasureChart:
    measure: Measure
    chart: Markup
    summary: str


@dataclass
class Trend:
    title: str
    chart: Markup
    summary: str
    rows: list[dict[str, str]]


def _measure_charts(dimension: dict[str, Any]) -> list[MeasureChart]:
    out = []
    for measure in MEASURES:
        bars = [
            GroupBar(
                r["group"],
                r["values"][measure.key],
                figure(measure, r["values"][measure.key]),
                r["highlight"],
            )
            for r in dimension["rows"]
        ]
        shown = [b for b in bars if b.value is not None]
        if shown:
            top = max(shown, key=lambda b: b.value or 0)
            summary = f"Highest: {top.label} ({top.text} {measure.unit})."
        else:
            summary = "Every group's figure is hidden (too few people)."
        label = f"{measure.label} ({measure.unit}) by {dimension['title'].lower()}: " + ", ".join(
            f"{b.label} {b.text}" for b in bars
        )
        out.append(MeasureChart(measure, group_bars(bars, label=label), summary))
    return out


def _trends(series: list[dict[str, Any]]) -> list[Trend]:
    out = []
    for s in series:
        months = [p["month"] for p in s["points"]]
        spc = xmr([p["rate"] for p in s["points"]])
        described = spc.describe()
        limits = (
            f" Mean {spc.centre:.2f}, process limits {spc.lower:.2f} to {spc.upper:.2f}."
            if spc.centre is not None and spc.lower is not None and spc.upper is not None
            else ""
        )
        rows = [
            {
                "month": p["month"],
                "events": count(p["events"]),
                "rate": "Hidden" if p["rate"] is None else f"{p['rate']:.2f}",
                "signal": spc.signals.get(i, ""),
            }
            for i, p in enumerate(s["points"])
        ]
        label = f"{s['title']}, {months[0]} to {months[-1]}. {described}{limits}" if months else s["title"]
        out.append(Trend(s["title"], spc_chart(months, spc, label=label), described + limits, rows))
    return out


def _request_refresh(snapshot: OutcomeSnapshot | None) -> bool:
    """Ask the queue for a new snapshot unless one is already waiting (True if one is waiting)."""
    run = current_run()
    if snapshot is not None and (run is None or snapshot.run_id == run.pk):
        return False
    with transaction.atomic():
        JobMark.objects.get_or_create(key=REFRESH_OUTCOMES)
        mark = JobMark.objects.select_for_update().get(key=REFRESH_OUTCOMES)
        if mark.pending_since is None or is_stale(mark.pending_since):
            mark.pending_since = timezone.now()
            mark.save(update_fields=["pending_since"])
            refresh_outcomes_task.enqueue()
    return True


def page_context(snapshot: OutcomeSnapshot | None, by: str) -> dict[str, Any]:
    keys = [k for k, _ in DIMENSIONS]
    by = by if by in keys else "imd"
    if snapshot is None:
        return {"snapshot": None, "by": by, "dimensions": DIMENSIONS}
    data = snapshot.data
    chosen = next(d for d in data["dimensions"] if d["key"] == by)
    return {
        "snapshot": snapshot,
        "as_of": format_date(snapshot.as_of),
        "by": by,
        "dimensions": DIMENSIONS,
        "chosen": chosen,
        "tables": data["dimensions"],
        "overall": data["overall"],
        "measures": MEASURES,
        "charts": _measure_charts(chosen),
        "trends": _trends(data["series"]),
        "medicines_available": data["medicines_available"],
        "figure": figure,
        "count": count,
        "hidden": HIDDEN,
    }


@require_GET
@analysts_only
def outcomes_page(request: HttpRequest) -> HttpResponse:
    snapshot = OutcomeSnapshot.objects.order_by("-pk").first()
    context = page_context(snapshot, request.GET.get("by", "imd"))
    context["refreshing"] = _request_refresh(snapshot)
    return render(request, "web/outcomes.html", context)


def csv_text(snapshot: OutcomeSnapshot) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["breakdown", "group", "measure", "unit", "value", "people_or_events", "note"])
    data = snapshot.data
    note = f"counts of {HIDDEN_AT_OR_BELOW} or fewer hidden, others rounded to the nearest 5; national data opt-outs excluded"
    tables = [
        ("All people", [data["overall"]] if data["overall"] else []),
        *((d["title"], d["rows"]) for d in data["dimensions"]),
    ]
    for title, rows in tables:
        for row in rows:
            writer.writerow(
                [
                    title,
                    row["group"],
                    "People",
                    "people",
                    "",
                    row["people"] if row["people"] is not None else "",
                    note,
                ]
            )
            for m in MEASURES:
                value = row["values"][m.key]
                shown = "" if value is None else round(value, 3)
                writer.writerow(
                    [
                        title,
                        row["group"],
                        m.label,
                        m.unit,
                        shown,
                        row["counts"][m.key] if row["counts"][m.key] is not None else "",
                        note,
                    ]
                )
    for s in data["series"]:
        for p in s["points"]:
            rate = "" if p["rate"] is None else round(p["rate"], 3)
            writer.writerow(
                [
                    "Month",
                    f"{s['group']} {p['month']}",
                    s["title"],
                    "per 1,000 people",
                    rate,
                    p["events"] if p["events"] is not None else "",
                    note,
                ]
            )
    return out.getvalue()


@require_GET
@analysts_only
def outcomes_csv(request: HttpRequest) -> HttpResponse:
    snapshot = OutcomeSnapshot.objects.order_by("-pk").first()
    if snapshot is None:
        return HttpResponse("No outcome figures yet.\n", content_type="text/plain; charset=utf-8", status=404)
    response = HttpResponse(csv_text(snapshot), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="careweave-outcomes-{snapshot.as_of.isoformat()}.csv"'
    )
    return response
