"""Worklists for the workspace: the current segmentation run's lists, limited to the people in the
user's care, filterable by list, cluster and practice, ordered by priority (the default), age or name;
every row says why the person is there and what makes up their priority score. The people a clinician
took off a list are shown apart, with the reason and the date they may return."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, QuerySet, Subquery

from careweave.governance import consent
from careweave.governance.access import in_care
from careweave.record import models as rm
from careweave.segmentation.models import (
    Cluster,
    PersonSegment,
    SegmentationRun,
    WorklistEntry,
    WorklistOverride,
)
from careweave.segmentation.services import worklist_titles
from careweave.ui.format import NOT_RECORDED, format_date, format_nhs_number
from careweave.web.presenters import PersonColumns

#: How a list may be ordered (the ``sort`` query parameter), the first the default: each list's rows
#: by priority score (highest first), by age (oldest first) or by family then given name; ties by name.
SORTS: Final = {
    "priority": ("Priority (highest first)", ("-priority", "person__family_name", "person__given_name")),
    "age": ("Age (oldest first)", ("person__birth_date", "person__family_name", "person__given_name")),
    "name": ("Name (A to Z)", ("person__family_name", "person__given_name")),
}
DEFAULT_SORT: Final = "priority"


@dataclass(frozen=True)
class Filters:
    list_id: str = ""
    cluster: int | None = None
    practice: int | None = None
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, params: Any) -> Filters:
        def number(name: str) -> int | None:
            value = params.get(name, "").strip()
            return int(value) if value.isdigit() else None

        list_id = params.get("list", "").strip()
        sort = params.get("sort", "").strip()
        return cls(
            list_id if list_id in worklist_titles() else "",
            number("cluster"),
            number("practice"),
            sort if sort in SORTS else DEFAULT_SORT,
        )

    def query(self, **extra: Any) -> str:
        sort = "" if self.sort == DEFAULT_SORT else self.sort
        params = {"list": self.list_id, "cluster": self.cluster, "practice": self.practice, "sort": sort, **extra}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def sort_options(self) -> list[dict[str, Any]]:
        return [{"value": key, "text": label, "selected": key == self.sort} for key, (label, _) in SORTS.items()]


def points_text(points: float) -> str:
    """A score as a clinician reads it: 7, or 2.5."""
    return f"{points:g}"


@dataclass(frozen=True)
class WorklistRow(PersonColumns):
    list_id: str
    list_title: str
    cluster: str
    reasons: list[str]
    added_by_clinician: bool
    priority: str
    priority_parts: list[dict[str, str]]


def entries_in_care(run: SegmentationRun, user: Any) -> QuerySet[WorklistEntry]:
    # the lists are made from diagnoses, medicines and results: only the people whose health summary the
    # user sees (role, sector and the person's sharing choices; ADR 0021)
    return (
        WorklistEntry.objects.filter(run=run)
        .filter(in_care(user, "person_id"))
        .filter(consent.person_shows(user, "summary"))
    )


def filtered(
    entries: QuerySet[WorklistEntry], filters: Filters, run: SegmentationRun
) -> QuerySet[WorklistEntry]:
    if filters.list_id:
        entries = entries.filter(list_id=filters.list_id)
    if filters.practice is not None:
        entries = entries.filter(practice_id=filters.practice)
    if filters.cluster is not None:
        entries = entries.filter(
            person_id__in=PersonSegment.objects.filter(run=run, cluster=filters.cluster).values("person_id")
        )
    return entries


@dataclass(frozen=True)
class Counts:
    """How many entries in the user's care each (list, practice) has: one grouped query that gives the
    list counts, the practice choices and, unless a cluster is chosen, the number of results."""

    by_list_and_practice: dict[tuple[str, int | None], int]

    @classmethod
    def of(cls, entries: QuerySet[WorklistEntry]) -> Counts:
        grouped = (
            entries.order_by()
            .values_list("list_id", "practice_id")
            .annotate(n=Count("pk"))
            .values_list("list_id", "practice_id", "n")
        )
        return cls({(list_id, practice): n for list_id, practice, n in grouped})

    def lists(self) -> list[dict[str, Any]]:
        per_list: dict[str, int] = {}
        for (list_id, _), n in self.by_list_and_practice.items():
            per_list[list_id] = per_list.get(list_id, 0) + n
        return [{"id": i, "title": t, "count": per_list.get(i, 0)} for i, t in worklist_titles().items()]

    def practices(self) -> list[dict[str, Any]]:
        pks = {practice for _, practice in self.by_list_and_practice if practice is not None}
        found = rm.Organisation.objects.filter(pk__in=pks).order_by("name").values_list("pk", "name")
        return [{"pk": pk, "name": name or NOT_RECORDED} for pk, name in found]

    def results(self, filters: Filters) -> int | None:
        """The number of entries the filters select, or None when only the database can tell (cluster)."""
        if filters.cluster is not None:
            return None
        return sum(
            n
            for (list_id, practice), n in self.by_list_and_practice.items()
            if (not filters.list_id or list_id == filters.list_id)
            and (filters.practice is None or practice == filters.practice)
        )


def cluster_options(run: SegmentationRun) -> list[dict[str, Any]]:
    return [
        {"number": c.number, "label": c.label}
        for c in Cluster.objects.filter(run=run).only("number", "label")
    ]


def rows(page_entries: Any, run: SegmentationRun, clusters: list[dict[str, Any]]) -> list[WorklistRow]:
    labels = {c["number"]: c["label"] for c in clusters}
    titles = worklist_titles()
    out = []
    for entry in page_entries:
        person = entry.person
        out.append(
            WorklistRow.of(
                person,
                entry.practice,
                list_id=entry.list_id,
                list_title=titles.get(entry.list_id, entry.list_id),
                cluster=labels.get(entry.cluster_number, NOT_RECORDED)
                if entry.cluster_number is not None
                else NOT_RECORDED,
                reasons=list(entry.reasons) or [NOT_RECORDED],
                added_by_clinician=entry.added_by_clinician,
                priority=points_text(entry.priority),
                priority_parts=[
                    {"reason": str(part.get("reason", "")), "points": points_text(float(part.get("points", 0)))}
                    for part in entry.priority_parts or []
                    if isinstance(part, dict)
                ],
            )
        )
    return out


def ordered_page_query(
    entries: QuerySet[WorklistEntry], run: SegmentationRun, sort: str = DEFAULT_SORT
) -> QuerySet[WorklistEntry]:
    """Rows with person, practice and cluster fetched together: one query per page whatever its size;
    each list's rows in the chosen order (``SORTS``)."""
    cluster = PersonSegment.objects.filter(run=run, person_id=OuterRef("person_id")).values("cluster")[:1]
    _, order = SORTS.get(sort, SORTS[DEFAULT_SORT])
    return (
        entries.select_related("person", "practice")
        .annotate(cluster_number=Subquery(cluster))
        .order_by("list_id", *order, "pk")
    )


@dataclass(frozen=True)
class RemovalRow:
    person_pk: int
    name: str
    nhs_number: str
    list_id: str
    list_title: str
    reason: str
    removed_on: str
    review_on: str


def removals(user: Any, filters: Filters, today: dt.date) -> list[RemovalRow]:
    """People in the user's care a clinician took off a list (the list chosen, or any) whose review
    date has not come: each with the reason kept and the day they may return."""
    found = (
        WorklistOverride.objects.filter(active=True, action=WorklistOverride.Action.REMOVE)
        .filter(in_care(user, "person_id"))
        .exclude(review_on__lte=today)
        .select_related("person")
        .order_by("review_on", "person__family_name", "pk")
    )
    if filters.list_id:
        found = found.filter(list_id=filters.list_id)
    titles = worklist_titles()
    return [
        RemovalRow(
            person_pk=o.person_id,
            name=o.person.display_name,
            nhs_number=format_nhs_number(o.person.nhs_number),
            list_id=o.list_id,
            list_title=titles.get(o.list_id, o.list_id),
            reason=o.reason,
            removed_on=format_date(o.created_at),
            review_on=format_date(o.review_on) if o.review_on else "Not set: until changed",
        )
        for o in found[:200]
        if o.list_id in titles
    ]


def run_caption(run: SegmentationRun) -> str:
    return f"Lists from the population run of {format_date(run.as_of)} ({run.version})"
