"""Referrals across the population, for analysts (issue 15, item 4): waits by receiving service, by
deprivation quintile and by ethnicity; referral loops per 1,000 people by cluster; the share of
people waiting who are lost to follow-up. Aggregates only, with the population page's rules: people
who opted out of planning uses (national data opt-out) are left out, and any count under 10, and any
figure worked out from one, is shown as "<10" (`web.population.count_text` and `share_text`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from careweave.record import models as rm
from careweave.referrals.scan import findings_for
from careweave.segmentation.models import Cluster, PersonSegment, SegmentationRun
from careweave.terminology.referrals import load_referral_rules
from careweave.web.population import (
    NOT_KNOWN,
    SMALL_NUMBER,
    SUPPRESSED,
    count_text,
    ethnicity_label,
    share_text,
)
from careweave.web.referral_worklist import latest_states

PLANNING = Q(person__national_data_opt_out=False)  # the people whose data may be used for planning
QUINTILES = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}


@dataclass(frozen=True)
class Waiting:
    """One waiting referral, as far as the aggregates need it (never shown)."""

    referral_id: str
    person_pk: int
    service: str
    quintile: str
    ethnicity: str
    weeks: int


@dataclass
class Table:
    title: str
    caption: str
    header: str
    rows: list[dict[str, str]]


@dataclass
class ReferralPopulationView:
    as_of: dt.date
    waiting: str
    over_standard: str
    lost_share: str
    tables: list[Table]


def _median(weeks: list[int]) -> str:
    return SUPPRESSED if len(weeks) < SMALL_NUMBER else f"{statistics.median(weeks):g}"


def _waiting(today: dt.date) -> list[Waiting]:
    rules = load_referral_rules()
    referrals = list(
        rm.Referral.objects.filter(PLANNING, is_referral=True)
        .exclude(status__in=("entered-in-error", "draft", "revoked", "completed"))
        .select_related("person", "to_organisation", "resource")
    )
    states = latest_states(r.pk for r in referrals)
    replaced = set(
        rm.Referral.objects.filter(PLANNING, is_referral=True, replaces__isnull=False).values_list("replaces_id", flat=True)
    )
    found = []
    for r in referrals:
        state = states.get(r.pk)
        if (state is not None and state.business_status not in rules.open_states) or r.pk in replaced:
            continue
        decile = r.person.imd_decile
        found.append(
            Waiting(
                referral_id=r.resource.logical_id,
                person_pk=r.person_id,
                service=r.to_organisation.name if r.to_organisation and r.to_organisation.name else NOT_KNOWN,
                quintile=QUINTILES.get((decile + 1) // 2, NOT_KNOWN) if decile else NOT_KNOWN,
                ethnicity=ethnicity_label(r.person.ethnicity_code or r.person.ethnicity_display),
                weeks=max(0, (today - r.authored_on).days // 7) if r.authored_on else 0,
            )
        )
    return found


def _wait_table(
    title: str,
    waiting: list[Waiting],
    key: Callable[[Waiting], str],
    lost: set[str],
    order: Iterable[str] | None = None,
) -> Table:
    groups: dict[str, list[Waiting]] = defaultdict(list)
    for w in waiting:
        groups[key(w)].append(w)
    names = (
        [n for n in order if n in groups]
        if order is not None
        else sorted(groups, key=lambda n: (-len(groups[n]), n))
    )
    standard = load_referral_rules().default_wait_days // 7
    rows = []
    for name in names:
        group = groups[name]
        weeks = [w.weeks for w in group]
        rows.append(
            {
                "label": name,
                "waiting": count_text(len(group)),
                "median": _median(weeks),
                "over": share_text(sum(1 for x in weeks if x > standard), len(group)),
                "lost": share_text(sum(1 for w in group if w.referral_id in lost), len(group)),
            }
        )
    caption = (
        f"Referrals waiting by {title.lower()}: how many, the median wait in weeks, the share waiting over "
        f"{standard} weeks and the share lost to follow-up"
    )
    return Table(title, caption, title, rows)


def _loops_by_cluster(run: SegmentationRun | None, looped: set[int]) -> Table:
    rows: list[dict[str, str]] = []
    if run is not None:
        members: dict[int, set[int]] = defaultdict(set)
        for cluster, person in (
            PersonSegment.objects.filter(PLANNING, run=run)
            .exclude(cluster=None)
            .values_list("cluster", "person_id")
        ):
            if cluster is not None:
                members[cluster].add(person)
        for c in Cluster.objects.filter(run=run).order_by("number"):
            size = len(members.get(c.number, set()))
            n = len(members.get(c.number, set()) & looped)
            rate = SUPPRESSED if n < SMALL_NUMBER or size < SMALL_NUMBER else f"{1000 * n / size:.1f}"
            rows.append(
                {
                    "label": f"{c.number}: {c.label}",
                    "people": count_text(size),
                    "loops": count_text(n),
                    "rate": rate,
                }
            )
    return Table("Cluster", "People caught in a referral loop per 1,000 people, by cluster", "Cluster", rows)


def referral_population_view(run: SegmentationRun | None, today: dt.date) -> ReferralPopulationView:
    waiting = _waiting(today)
    found = findings_for(PLANNING, as_of=today)
    lost = {r for f in found if f.finding == "lost" for r in f.referrals}
    looped = {f.person_id for f in found if f.finding == "loop"}
    standard = load_referral_rules().default_wait_days // 7
    tables = [
        _wait_table("Service", waiting, lambda w: w.service, lost),
        _wait_table(
            "Deprivation quintile", waiting, lambda w: w.quintile, lost, [*QUINTILES.values(), NOT_KNOWN]
        ),
        _wait_table("Ethnicity", waiting, lambda w: w.ethnicity, lost),
        _loops_by_cluster(run, looped),
    ]
    people_waiting = {w.person_pk for w in waiting}
    people_lost = {f.person_id for f in found if f.finding == "lost"} & people_waiting
    return ReferralPopulationView(
        as_of=today,
        waiting=count_text(len(waiting)),
        over_standard=share_text(sum(1 for w in waiting if w.weeks > standard), len(waiting)),
        lost_share=share_text(len(people_lost), len(people_waiting)),
        tables=tables,
    )


def table_columns(table: Table) -> list[tuple[str, str]]:
    """(key, heading) of a table's figures."""
    if table.title == "Cluster":
        return [("people", "People"), ("loops", "In a loop"), ("rate", "Per 1,000")]
    return [
        ("waiting", "Waiting"),
        ("median", "Median weeks"),
        ("over", "Over 18 weeks"),
        ("lost", "Lost to follow-up"),
    ]


def context(view: ReferralPopulationView) -> dict[str, Any]:
    tables = []
    for table in view.tables:
        columns = table_columns(table)
        headers = [table.header, *({"text": heading, "numeric": True} for _key, heading in columns)]
        tables.append((table, columns, headers))
    return {"view": view, "tables": tables}
