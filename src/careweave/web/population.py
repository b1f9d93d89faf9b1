"""The population view: aggregate figures only, for analysts and everyone else allowed.

- Only counts leave the database: every figure is a GROUP BY, never a list of people.
- People who opted out of the use of their data for planning (national data opt-out) are left out.
- Small numbers are suppressed: any count under 10 is shown as "<10", and so is any percentage
  worked out from one, so a person cannot be singled out from a small group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

from django.db.models import Case, CharField, Count, IntegerField, Q, QuerySet, Value, When
from markupsafe import Markup

from careweave.segmentation.freshness import Freshness, freshness
from careweave.segmentation.models import Cluster, PersonSegment, SegmentationRun, WorklistEntry
from careweave.segmentation.services import worklist_titles
from careweave.ui.format import format_date
from careweave.web import charts

SMALL_NUMBER = 10
SUPPRESSED = "<10"
NOT_KNOWN = "Not recorded"
# NHS Data Dictionary ETHNIC CATEGORY (UK Core EthnicCategoryEngland): the code is what the record
# keeps (fhir.projection reads it from the UK Core Ethnic Category extension); its display is often
# not sent, so the page names the category from the code.
ETHNIC_CATEGORIES = {
    "A": "White: British",
    "B": "White: Irish",
    "C": "White: any other White background",
    "D": "Mixed: White and Black Caribbean",
    "E": "Mixed: White and Black African",
    "F": "Mixed: White and Asian",
    "G": "Mixed: any other mixed background",
    "H": "Asian or Asian British: Indian",
    "J": "Asian or Asian British: Pakistani",
    "K": "Asian or Asian British: Bangladeshi",
    "L": "Asian or Asian British: any other Asian background",
    "M": "Black or Black British: Caribbean",
    "N": "Black or Black British: African",
    "P": "Black or Black British: any other Black background",
    "R": "Other ethnic groups: Chinese",
    "S": "Other ethnic groups: any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}
AGE_BANDS = (("Under 45", 0, 45), ("45 to 64", 45, 65), ("65 to 74", 65, 75), ("75 and over", 75, 200))


def count_text(n: int) -> str:
    return SUPPRESSED if n < SMALL_NUMBER else f"{n:,}"


def share_text(part: int, whole: int) -> str:
    if part < SMALL_NUMBER or whole < SMALL_NUMBER:
        return SUPPRESSED
    return f"{part / whole:.0%}"


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_band(as_of: date) -> Case:
    """Age band on the run's as-of date, worked out in the database."""
    whens = [
        When(person__birth_date__gt=_years_before(as_of, lower_next), then=Value(label))
        for label, _lower, lower_next in AGE_BANDS[:-1]
    ]
    return Case(
        *whens,
        When(person__birth_date__isnull=False, then=Value(AGE_BANDS[-1][0])),
        default=Value(NOT_KNOWN),
        output_field=CharField(),
    )


def ethnic_group() -> Case:
    """The person's ethnic category code, else the display sent without one, else not recorded."""
    return Case(
        When(~Q(person__ethnicity_code=""), then="person__ethnicity_code"),
        When(~Q(person__ethnicity_display=""), then="person__ethnicity_display"),
        default=Value(NOT_KNOWN),
        output_field=CharField(),
    )


def ethnicity_label(group: str | None) -> str:
    if not group:
        return NOT_KNOWN
    return ETHNIC_CATEGORIES.get(group, group)


def deprivation_quintile() -> Case:
    """IMD quintile from the decile: 1 is the most deprived fifth of neighbourhoods in England."""
    return Case(
        *(When(person__imd_decile__in=(2 * q - 1, 2 * q), then=Value(q)) for q in range(1, 6)),
        default=Value(0),
        output_field=IntegerField(),
    )


@dataclass
class Breakdown:
    title: str
    caption: str
    rows: list[dict[str, str]]
    chart: Markup


class OverRepresented(TypedDict):
    label: str
    ratio: str  # as shown, e.g. "3.1×"
    value: float  # the ratio, for the bar chart


@dataclass
class ClusterView:
    number: int
    label: str
    staff_description: str
    person_sentence: str
    size: str
    share: str
    age_profile: list[dict[str, str]] = field(default_factory=list)
    chart: Markup = Markup("")
    over_represented: list[OverRepresented] = field(default_factory=list)
    ratio_chart: Markup = Markup("")


@dataclass
class PopulationView:
    run_caption: str
    freshness: Freshness
    people: str
    register: str
    register_share: str
    clusters: list[ClusterView]
    breakdowns: list[Breakdown]
    worklists: list[dict[str, str]]


def _segments(run: SegmentationRun) -> QuerySet[PersonSegment]:
    return PersonSegment.objects.filter(run=run, person__national_data_opt_out=False)


def _breakdown(
    segments: QuerySet[PersonSegment], title: str, key: Any, label_for: Any, order: list[Any] | None
) -> Breakdown:
    counted = (
        segments.annotate(group=key)
        .values("group")
        .annotate(people=Count("pk"), register=Count("pk", filter=Q(mltc=True)))
    )
    found = {row["group"]: row for row in counted}
    keys = (
        order
        if order is not None
        else sorted(found, key=lambda k: (k in (None, "", NOT_KNOWN), str(k or "")))
    )
    rows, bars = [], []
    for k in keys:
        row = found.get(k, {"people": 0, "register": 0})
        name = label_for(k)
        rows.append(
            {
                "group": name,
                "people": count_text(row["people"]),
                "register": count_text(row["register"]),
                "share": share_text(row["register"], row["people"]),
            }
        )
        suppressed = row["register"] < SMALL_NUMBER
        bars.append(charts.Bar(name, None if suppressed else row["register"], count_text(row["register"])))
    chart = charts.bar_chart(
        bars,
        label=f"People on the MLTC register by {title.lower()}: "
        + ", ".join(f"{b.label} {b.text}" for b in bars),
    )
    return Breakdown(title, f"People and the MLTC register by {title.lower()}", rows, chart)


def population_view(run: SegmentationRun) -> PopulationView:
    segments = _segments(run)
    totals = segments.aggregate(people=Count("pk"), register=Count("pk", filter=Q(mltc=True)))
    people, register = totals["people"], totals["register"]
    band = age_band(run.as_of)
    band_names = [b[0] for b in AGE_BANDS] + [NOT_KNOWN]

    breakdowns = [
        _breakdown(
            segments,
            "Practice",
            Case(
                When(person__registered_practice__isnull=False, then="person__registered_practice__name"),
                default=Value(NOT_KNOWN),
                output_field=CharField(),
            ),
            lambda k: k or NOT_KNOWN,
            None,
        ),
        _breakdown(segments, "Age band", band, str, band_names),
        _breakdown(
            segments,
            "Deprivation quintile",
            deprivation_quintile(),
            lambda q: {1: "1 (most deprived)", 5: "5 (least deprived)", 0: NOT_KNOWN}.get(q, str(q)),
            [1, 2, 3, 4, 5, 0],
        ),
        _breakdown(
            segments,
            "Ethnicity",
            ethnic_group(),
            ethnicity_label,
            None,
        ),
    ]

    sizes = dict(
        segments.exclude(cluster=None)
        .values_list("cluster")
        .annotate(n=Count("pk"))
        .values_list("cluster", "n")
    )
    ages: dict[int | None, dict[str, int]] = {}  # no None key: unclustered rows are excluded
    for row in (
        segments.exclude(cluster=None).annotate(band=band).values("cluster", "band").annotate(n=Count("pk"))
    ):
        ages.setdefault(row["cluster"], {})[row["band"]] = row["n"]
    clustered = sum(sizes.values())
    clusters = []
    for c in Cluster.objects.filter(run=run).order_by("number"):
        size = sizes.get(c.number, 0)
        by_age = ages.get(c.number, {})
        profile = [
            {
                "band": name,
                "count": count_text(by_age.get(name, 0)),
                "share": share_text(by_age.get(name, 0), size),
            }
            for name in band_names
            if name != NOT_KNOWN or by_age.get(name)
        ]
        bars = [
            charts.Bar(
                p["band"],
                None
                if by_age.get(p["band"], 0) < SMALL_NUMBER or size < SMALL_NUMBER
                else by_age[p["band"]] / size,
                p["share"],
            )
            for p in profile
        ]
        clusters.append(
            ClusterView(
                number=c.number,
                label=c.label,
                staff_description=c.staff_description,
                person_sentence=c.person_sentence,
                size=count_text(size),
                share=share_text(size, clustered),
                age_profile=profile,
                chart=charts.bar_chart(
                    bars,
                    label=f"Age profile of cluster {c.number}, {c.label}: "
                    + ", ".join(f"{b.label} {b.text}" for b in bars),
                ),
                over_represented=(over := _over_represented(c.profile)),
                ratio_chart=charts.bar_chart(
                    [charts.Bar(i["label"], i["value"], i["ratio"]) for i in over[:6]],
                    label=f"Over-represented in cluster {c.number}, times the average: "
                    + ", ".join(f"{i['label']} {i['ratio']}" for i in over[:6]),
                )
                if over
                else Markup(""),
            )
        )

    titles = worklist_titles()
    list_counts = dict(
        WorklistEntry.objects.filter(run=run, person__national_data_opt_out=False)
        .values_list("list_id")
        .annotate(n=Count("pk"))
        .values_list("list_id", "n")
    )
    worklists = [{"title": t, "count": count_text(list_counts.get(i, 0))} for i, t in titles.items()]
    return PopulationView(
        run_caption=f"Population run of {format_date(run.as_of)} ({run.version})",
        freshness=freshness(run),
        people=count_text(people),
        register=count_text(register),
        register_share=share_text(register, people),
        clusters=clusters,
        breakdowns=breakdowns,
        worklists=worklists,
    )


def _over_represented(profile: Any) -> list[OverRepresented]:
    """The conditions and needs the run found over-represented in a cluster, when it stored them.

    Ratios are shown, not counts; an indicator based on fewer than 10 people is left out."""
    if not isinstance(profile, dict):
        return []
    items = profile.get("over_represented") or []
    out: list[OverRepresented] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or "label" not in item or "ratio" not in item:
            continue
        if int(item.get("count", SMALL_NUMBER) or 0) < SMALL_NUMBER:
            continue
        out.append(
            {
                "label": str(item["label"]),
                "ratio": f"{float(item['ratio']):.1f}×",
                "value": float(item["ratio"]),
            }
        )
    return out
