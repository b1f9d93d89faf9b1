"""Worklists for the workspace: the current segmentation run's lists, limited to the people in the
user's care, filterable by list, cluster and practice; every row says why the person is there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, QuerySet, Subquery

from careweave.record import models as rm
from careweave.segmentation.models import Cluster, PersonSegment, SegmentationRun, WorklistEntry
from careweave.web.presenters import NOT_RECORDED, _age_text, format_date, format_nhs_number
from careweave.web.summary import worklist_titles


@dataclass(frozen=True)
class Filters:
    list_id: str = ""
    cluster: int | None = None
    practice: int | None = None

    @classmethod
    def from_query(cls, params: Any) -> Filters:
        def number(name: str) -> int | None:
            value = params.get(name, "").strip()
            return int(value) if value.isdigit() else None

        list_id = params.get("list", "").strip()
        return cls(list_id if list_id in worklist_titles() else "", number("cluster"), number("practice"))

    def query(self, **extra: Any) -> str:
        params = {"list": self.list_id, "cluster": self.cluster, "practice": self.practice, **extra}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


@dataclass(frozen=True)
class WorklistRow:
    person_pk: int
    name: str
    nhs_number: str
    age: str
    practice: str
    list_id: str
    list_title: str
    cluster: str
    reasons: list[str]
    added_by_clinician: bool


def entries_in_care(run: SegmentationRun, people: QuerySet[rm.Person]) -> QuerySet[WorklistEntry]:
    return WorklistEntry.objects.filter(run=run, person__in=people)


def filtered(
    entries: QuerySet[WorklistEntry], filters: Filters, run: SegmentationRun
) -> QuerySet[WorklistEntry]:
    if filters.list_id:
        entries = entries.filter(list_id=filters.list_id)
    if filters.practice is not None:
        entries = entries.filter(person__registered_practice_id=filters.practice)
    if filters.cluster is not None:
        entries = entries.filter(
            person__in=PersonSegment.objects.filter(run=run, cluster=filters.cluster).values("person_id")
        )
    return entries


def list_counts(entries: QuerySet[WorklistEntry]) -> list[dict[str, Any]]:
    """Every list with how many people in the user's care are on it (one query)."""
    counts = dict(entries.values_list("list_id").annotate(n=Count("pk")).values_list("list_id", "n"))
    return [{"id": i, "title": t, "count": counts.get(i, 0)} for i, t in worklist_titles().items()]


def cluster_options(run: SegmentationRun) -> list[dict[str, Any]]:
    return [
        {"number": c.number, "label": c.label}
        for c in Cluster.objects.filter(run=run).only("number", "label")
    ]


def practice_options(entries: QuerySet[WorklistEntry]) -> list[dict[str, Any]]:
    found = (
        entries.exclude(person__registered_practice=None)
        .values_list("person__registered_practice_id", "person__registered_practice__name")
        .distinct()
        .order_by("person__registered_practice__name")
    )
    return [{"pk": pk, "name": name or NOT_RECORDED} for pk, name in found]


def rows(page_entries: Any, run: SegmentationRun, clusters: list[dict[str, Any]]) -> list[WorklistRow]:
    labels = {c["number"]: c["label"] for c in clusters}
    titles = worklist_titles()
    out = []
    for entry in page_entries:
        person = entry.person
        out.append(
            WorklistRow(
                person_pk=person.pk,
                name=person.display_name,
                nhs_number=format_nhs_number(person.nhs_number),
                age=_age_text(person),
                practice=person.registered_practice.name if person.registered_practice else NOT_RECORDED,
                list_id=entry.list_id,
                list_title=titles.get(entry.list_id, entry.list_id),
                cluster=labels.get(entry.cluster_number, NOT_RECORDED)
                if entry.cluster_number is not None
                else NOT_RECORDED,
                reasons=list(entry.reasons) or [NOT_RECORDED],
                added_by_clinician=entry.added_by_clinician,
            )
        )
    return out


def ordered_page_query(entries: QuerySet[WorklistEntry], run: SegmentationRun) -> QuerySet[WorklistEntry]:
    """Rows with person, practice and cluster fetched together: one query per page whatever its size."""
    cluster = PersonSegment.objects.filter(run=run, person_id=OuterRef("person_id")).values("cluster")[:1]
    return (
        entries.select_related("person", "person__registered_practice")
        .annotate(cluster_number=Subquery(cluster))
        .order_by("list_id", "person__family_name", "person__given_name", "pk")
    )


def run_caption(run: SegmentationRun) -> str:
    return f"Lists from the population run of {format_date(run.as_of)} ({run.version})"
