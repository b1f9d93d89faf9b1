"""One review per person from the monitoring items, as Arrow tables: the merge, the blood set, the
slot, the clinician type and the usual clinician.

The monitoring items come from the engines (``monitoring_due`` with ``slot_inputs``, the features'
MLTC, frailty and condition columns, DuckDB or Spark, the same specification the worklists use; the
engine creates only the steps those two outputs read); the merge is column arithmetic over Arrow and numpy, no loop
per person (``bench/bench_reviews.py`` measures it). For each person:

1. every item gets its due date (as_of for a check never recorded);
2. a person has a review when an item is due within the horizon (``planning.horizon_weeks``);
3. the review date is the earliest due date among those items, and never before as_of, so an overdue
   item is never delayed;
4. every item due on or before the review date plus the tolerance window (``tolerance_months``,
   calendar months, clamped to a shorter month's end) is brought forward into the review;
5. the checks that are laboratory tests become one set of tests, each once, with every rule that asks
   for it; the phlebotomy date is ``phlebotomy.working_days_before`` working days before the review
   (never before as_of);
6. the slot is double when a ``double_slot_when`` rule holds; the clinician type is the one every
   area needs, or the combined type when they differ; the usual clinician is the practitioner seen
   most at the person's practice over the look-back (ties: the most recent, then the lower id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from careweave.population.compute import compute_outputs
from careweave.population.extract_schema import ACTIVE_CLINICAL_STATUSES, Extract, ExtractTable
from careweave.population.features import EngineName, FeatureKnowledge
from careweave.terminology.loading.alerts import load_alerts
from careweave.terminology.loading.reviews import CLINICIAN_TYPES, ReviewPlanning, load_review_planning
from careweave.terminology.loading.schedules import months_before

from .dates import Days, add_months, day, overdue_from_months, working_days_before

__all__ = [
    "PLAN_OUTPUTS",
    "ReviewPlan",
    "due_dates",
    "plan_from_tables",
    "plan_reviews",
    "reasonable_adjustments",
    "usual_clinicians",
]

_NEVER = np.datetime64("9999-12-31", "D")
#: What the planner asks the engine for: the items, and the feature columns the slot rules read.
PLAN_OUTPUTS: Final = ("monitoring_due", "slot_inputs")


@dataclass(frozen=True)
class ReviewPlan:
    """``reviews``: one row per person with something due in the horizon; ``items``: the merged items
    (overdue first, then by due date and rule); ``bloods``: one row per (person, laboratory test) with
    the rules that ask for it."""

    as_of: dt.date
    reviews: pa.Table
    items: pa.Table
    bloods: pa.Table


def _scan(table: ExtractTable, columns: list[str], where: pc.Expression) -> pa.Table:
    if isinstance(table, pa.Table):
        return table.filter(where).select(columns)
    if isinstance(table, ds.Dataset):
        return table.to_table(columns=columns, filter=where)
    raise TypeError(f"not an extract table: {type(table).__name__}")


def _end_of(as_of: dt.date) -> pa.Scalar:
    return pa.scalar(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()), pa.timestamp("us"))


def usual_clinicians(extract: Extract, as_of: dt.date, months: int) -> pa.Table:
    """``person_id``, ``practitioner_id``: the practitioner each person saw most at their registered
    practice in the ``months`` up to ``as_of``; ties go to the most recent encounter, then the lower id."""
    since = pa.scalar(
        dt.datetime.combine(months_before(as_of, months) + dt.timedelta(days=1), dt.time()),
        pa.timestamp("us"),
    )
    encounters = _scan(
        extract.encounter,
        ["person_id", "start", "organisation_id", "practitioner_id"],
        (ds.field("start") >= since)
        & (ds.field("start") < _end_of(as_of))
        & ds.field("practitioner_id").is_valid()
        & ds.field("organisation_id").is_valid(),
    )
    people = _scan(extract.person, ["person_id", "practice_id"], ds.scalar(True))
    order = np.argsort(people["person_id"].to_numpy())
    ids = people["person_id"].to_numpy()[order]
    practices = people["practice_id"].to_numpy()[order]
    who = encounters["person_id"].to_numpy()
    at = np.clip(np.searchsorted(ids, who), 0, max(len(ids) - 1, 0))
    known = (ids[at] == who) if len(ids) else np.zeros(len(who), dtype=bool)
    own = known & (practices[at] == encounters["organisation_id"].to_numpy())
    seen = (
        encounters.filter(pa.array(own))
        .group_by(["person_id", "practitioner_id"], use_threads=False)
        .aggregate([("start", "count"), ("start", "max")])
    )
    ranked = seen.sort_by(
        [
            ("person_id", "ascending"),
            ("start_count", "descending"),
            ("start_max", "descending"),
            ("practitioner_id", "ascending"),
        ]
    )
    _, first = np.unique(ranked["person_id"].to_numpy(), return_index=True)
    return ranked.take(pa.array(first, pa.int64())).select(["person_id", "practitioner_id"])


def reasonable_adjustments(extract: Extract, as_of: dt.date) -> set[int]:
    """People with a coded reasonable adjustment (alerts.yaml ``reasonable_adjustment``) on an
    observation recorded by ``as_of`` or an active condition."""
    kind = next(k for k in load_alerts().kinds if k.id == "reasonable_adjustment")
    codes = pa.array(sorted({code for _, code in kind.codes}))
    found: set[int] = set()
    observations = _scan(
        extract.observation,
        ["person_id", "system", "code"],
        pc.field("code").isin(codes) & (pc.field("effective") < _end_of(as_of)),
    )
    conditions = _scan(
        extract.condition,
        ["person_id", "system", "code", "clinical_status"],
        pc.field("code").isin(codes)
        & (
            pc.field("clinical_status").is_null()
            | pc.field("clinical_status").isin(pa.array(ACTIVE_CLINICAL_STATUSES))
        ),
    )
    for table in (observations, conditions):
        for person, system, code in zip(
            table["person_id"].to_pylist(),
            table["system"].to_pylist(),
            table["code"].to_pylist(),
            strict=True,
        ):
            if (system, code) in kind.codes:
                found.add(int(person))
    return found


def _ranks(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Each value's position in the sorted distinct values (a cheap sort key), and those values."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    values = encoded.dictionary.to_pylist()
    rank = np.argsort(np.argsort(np.array(values, dtype=object)))
    indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return rank[indices] if len(values) else indices, sorted(values)


def _mapped(column: pa.ChunkedArray, mapping: dict[str, str] | dict[str, int], kind: pa.DataType) -> pa.Array:
    """``mapping`` applied to every value (null where it has none), through the few distinct values."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    values = [mapping.get(v) for v in encoded.dictionary.to_pylist()]
    return pa.array(values, kind).take(encoded.indices)


def due_dates(due: pa.Table, as_of: dt.date) -> Days:
    last_raw = due["last_date"].to_numpy()
    never = np.isnat(last_raw)
    last = np.where(never, day(as_of), last_raw).astype("datetime64[D]")
    count = due["interval_count"].to_numpy().astype(np.int64)
    unit = due["interval_unit"].to_numpy(zero_copy_only=False)
    by_days = last + (count * np.where(unit == "week", 7, 1)).astype("timedelta64[D]")
    by_month = overdue_from_months(last, count)
    return np.where(never, day(as_of), np.where(unit == "month", by_month, by_days))


def _lookup(
    keys: npt.NDArray[np.int64], table_ids: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Positions of ``keys`` in the sorted ``table_ids`` and whether each was found."""
    if not len(table_ids):
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    at = np.clip(np.searchsorted(table_ids, keys), 0, len(table_ids) - 1)
    return at, table_ids[at] == keys


def plan_from_tables(
    due: pa.Table,
    features: pa.Table,
    *,
    as_of: dt.date,
    planning: ReviewPlanning,
    usual: pa.Table,
    interpreter: Collection[int] = (),
    adjustments: Collection[int] = (),
) -> ReviewPlan:
    """The plan from the engines' ``monitoring_due`` output and ``features`` (the ``slot_inputs``
    output, or the whole ``features`` output: any table with ``person_id`` and the columns the
    double-slot rules name; see the module doc)."""
    subject_key = pc.binary_join_element_wise(due["kind"], due["subject_id"], ":")
    rule_rank, _ = _ranks(due["rule_id"])
    due_day = due_dates(due, as_of)
    person = due["person_id"].to_numpy()
    order = np.lexsort((rule_rank, due_day, person))
    due, due_day, person = due.take(pa.array(order)), due_day[order], person[order]
    subject_key = subject_key.take(pa.array(order))
    n = len(person)
    starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if n else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[starts, n])
    owner = np.repeat(np.arange(len(starts)), counts)

    horizon_end = day(as_of) + np.timedelta64(planning.horizon_weeks * 7, "D")
    in_horizon = due_day <= horizon_end
    first = (
        np.minimum.reduceat(np.where(in_horizon, due_day, _NEVER), starts)
        if n
        else np.zeros(0, "datetime64[D]")
    )
    has_review = first <= horizon_end
    review_day = np.maximum(first, day(as_of))
    window_end = add_months(review_day, planning.tolerance_months)
    chosen = has_review[owner] & (due_day <= window_end[owner]) if n else np.zeros(0, dtype=bool)

    # -- the merged items ---------------------------------------------------------------------------
    items = due.filter(pa.array(chosen)).select(
        [
            "person_id",
            "rule_id",
            "kind",
            "subject_id",
            "check_id",
            "name",
            "interval_count",
            "interval_unit",
            "last_system",
            "last_code",
            "last_date",
            "last_value",
            "overdue",
        ]
    )
    who = np.flatnonzero(has_review)  # review index -> position among people with items
    review_of_person = np.full(len(starts), -1)
    review_of_person[who] = np.arange(len(who))
    item_review = review_of_person[owner[chosen]]
    tests = _mapped(items["check_id"], planning.test_of_check, pa.string())
    types = {s: CLINICIAN_TYPES.index(t) for s, t in planning.clinician_by_subject.items()}
    type_code = (
        _mapped(items["subject_id"], types, pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    )
    items = (
        items.append_column("due", pa.array(due_day[chosen], pa.date32()))
        .append_column("test_id", tests)
        .append_column(
            "clinician_type", pa.array(np.array(CLINICIAN_TYPES, dtype=object)[type_code], pa.string())
        )
    )

    # -- per review ----------------------------------------------------------------------------------
    reviews_n = len(who)
    item_count = np.bincount(item_review, minlength=reviews_n)
    overdue_count = np.bincount(
        item_review,
        weights=items["overdue"].to_numpy(zero_copy_only=False).astype(np.int64),
        minlength=reviews_n,
    ).astype(np.int64)
    area_rank, _ = _ranks(subject_key.filter(pa.array(chosen)))
    width = int(area_rank.max()) + 1 if len(area_rank) else 1
    area_pairs = np.unique(item_review * width + area_rank)
    area_count = np.bincount(area_pairs // width, minlength=reviews_n)
    type_mask = np.zeros(reviews_n, dtype=np.int64)
    np.bitwise_or.at(type_mask, item_review, 1 << type_code)
    single = {1 << i: name for i, name in enumerate(CLINICIAN_TYPES)}
    clinician = [single.get(int(m), planning.combined_clinician) for m in type_mask]

    has_test = tests.is_valid().to_numpy(zero_copy_only=False)
    blood_rows = items.filter(pa.array(has_test)).select(["person_id", "test_id", "rule_id", "name"])
    bloods = (
        blood_rows.group_by(["person_id", "test_id"], use_threads=False)
        .aggregate([("rule_id", "list"), ("name", "list")])
        .sort_by([("person_id", "ascending"), ("test_id", "ascending")])
    )
    test_count = np.bincount(item_review[has_test], minlength=reviews_n) > 0

    review_dates = review_day[who]
    phlebotomy = np.maximum(working_days_before(review_dates, planning.phlebotomy_working_days), day(as_of))
    review_people = person[starts[who]] if reviews_n else np.zeros(0, dtype=np.int64)

    # -- slot -----------------------------------------------------------------------------------------
    f_order = np.argsort(features["person_id"].to_numpy())
    f_ids = features["person_id"].to_numpy()[f_order]
    at, found = _lookup(review_people, f_ids)
    needs = {"interpreter": set(interpreter), "reasonable_adjustment": set(adjustments)}
    slot_columns: dict[str, npt.NDArray[np.bool_]] = {}
    for rule in planning.double_slot_rules:
        if rule.areas_at_least is not None:
            holds = area_count >= rule.areas_at_least
        elif rule.feature is not None:
            if rule.feature not in features.column_names:
                raise ValueError(
                    f"review_planning.yaml: double_slot_when {rule.id}: no feature column {rule.feature!r} "
                    f"among the slot inputs ({', '.join(features.column_names)})"
                )
            values = features[rule.feature].to_numpy(zero_copy_only=False)[f_order]
            holds = found & values[at].astype(bool)
        else:
            holds = np.isin(review_people, np.fromiter(needs[str(rule.need)], dtype=np.int64))
        slot_columns[f"double_{rule.id}"] = holds
    double = (
        np.logical_or.reduce(list(slot_columns.values())) if slot_columns else np.zeros(reviews_n, dtype=bool)
    )

    u_order = np.argsort(usual["person_id"].to_numpy())
    u_at, u_found = _lookup(review_people, usual["person_id"].to_numpy()[u_order])
    practitioners = usual["practitioner_id"].to_numpy()[u_order]
    usual_ids = pa.array(
        practitioners[u_at] if len(practitioners) else np.zeros(reviews_n, dtype=np.int64),
        pa.int64(),
        mask=~u_found,
    )

    reviews = pa.table(
        {
            "person_id": pa.array(review_people, pa.int64()),
            "review_date": pa.array(review_dates, pa.date32()),
            "phlebotomy_date": pa.array(phlebotomy, pa.date32(), mask=~test_count),
            "item_count": pa.array(item_count, pa.int32()),
            "overdue_count": pa.array(overdue_count, pa.int32()),
            "area_count": pa.array(area_count, pa.int32()),
            "slot_minutes": pa.array(
                np.where(double, planning.double_minutes, planning.standard_minutes), pa.int32()
            ),
            "clinician_type": pa.array(clinician, pa.string()),
            "usual_practitioner_id": usual_ids,
            **{name: pa.array(values, pa.bool_()) for name, values in slot_columns.items()},
        }
    )
    return ReviewPlan(as_of=as_of, reviews=reviews, items=items, bloods=bloods)


def plan_reviews(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
    planning: ReviewPlanning | None = None,
    interpreter: Collection[int] = (),
) -> ReviewPlan:
    """Every person's review on ``as_of``: the engine computes the monitoring items and the slot
    inputs, the merge runs over their Arrow output. ``interpreter``: the people who need an interpreter (a
    demographic the extract does not carry)."""
    planning = planning or load_review_planning()
    outputs = compute_outputs(extract, as_of, PLAN_OUTPUTS, engine, knowledge=knowledge)
    return plan_from_tables(
        outputs["monitoring_due"],
        outputs["slot_inputs"],
        as_of=as_of,
        planning=planning,
        usual=usual_clinicians(extract, as_of, planning.usual_clinician_months),
        interpreter=interpreter,
        adjustments=reasonable_adjustments(extract, as_of),
    )
