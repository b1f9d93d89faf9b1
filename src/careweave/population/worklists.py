"""Worklists: who needs care co-ordination, a medicines review, an MDT discussion, overdue monitoring
or follow-up after discharge, why, in words, and how urgently, as a score with its parts.

Each rule is reviewed data (``careweave.terminology.load_worklist_rules``) with its sources. A rule
applies to some people only (``min_age``, ``on_register``: care co-ordination to adults on the MLTC
register, the frailty rules from 65); a person it applies to is on the list when the rule's criteria
match their features (``any`` or ``all``), and every criterion that matched adds its reason, filled
with the person's values. The priority score is the sum of the weights of the criteria (and priority
factors) met, stored with its parts. Clinicians' overrides (add or remove, with a reason; a removal
until its review date) are stored elsewhere and applied here, after every computation, so they
survive re-runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from careweave.population.medicines.worklist import COLUMNS as MEDICINES_COLUMNS
from careweave.population.medicines.worklist import with_medicines_features
from careweave.terminology.models import WorklistCriterion, WorklistRule

# Labels repeated on every row of a list are dictionary-encoded: a million entries share a few strings.
_LABEL: Final = pa.dictionary(pa.int32(), pa.string())
PRIORITY_PART: Final = pa.struct([pa.field("reason", pa.string()), pa.field("points", pa.float64())])

WORKLIST_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("list_id", _LABEL, nullable=False),
        pa.field("list_title", _LABEL, nullable=False),
        pa.field("reasons", pa.list_(pa.string()), nullable=False),
        pa.field("source", _LABEL, nullable=False),
        pa.field("overridden", pa.bool_(), nullable=False),
        pa.field("priority", pa.float64(), nullable=False),
        pa.field("priority_parts", pa.list_(PRIORITY_PART), nullable=False),
    ]
)
"""One row per person per list, lists in rule order, people in id order. ``reasons``: plain-English
sentences, never empty. ``source``: the rule's citations (or the clinician override). ``overridden``:
a clinician added the person. ``priority``: the score the list is ordered by, the sum of the points of
``priority_parts`` (each a reason and the points it adds; parts worth nothing are left out).
``list_id``, ``list_title`` and ``source`` are dictionary-encoded."""

CLINICIAN_SOURCE: Final = "Clinician override"


@dataclass(frozen=True)
class WorklistOverride:
    """A clinician's decision to add a person to a list or remove them, with the reason. A removal
    lasts until ``review_on`` (None: until changed); from that day the person may return."""

    person_id: int
    list_id: str
    action: Literal["add", "remove"]
    reason: str
    review_on: dt.date | None = None

    def __post_init__(self) -> None:
        if self.action not in ("add", "remove"):
            raise ValueError(f"override action must be 'add' or 'remove', not {self.action!r}")
        if not self.reason.strip():
            raise ValueError("an override needs a reason")

    def in_force(self, as_of: dt.date | None) -> bool:
        """Whether the decision still applies on ``as_of`` (a removal past its review date does not)."""
        return self.action == "add" or self.review_on is None or as_of is None or as_of < self.review_on


def _rows_mask(column: pa.ChunkedArray, compare: Any, value: object) -> np.ndarray:
    return np.asarray(pc.fill_null(compare(column, value), False).to_numpy(zero_copy_only=False), dtype=bool)


def _age_mask(features: pa.Table, min_age: int | None, what: str) -> np.ndarray:
    if not min_age:
        return np.ones(features.num_rows, dtype=bool)
    if "age" not in features.column_names:
        raise ValueError(f"{what} applies from age {min_age}, but the features have no age column")
    return _rows_mask(features.column("age"), pc.greater_equal, min_age)


def _eligible(features: pa.Table, rule: WorklistRule) -> np.ndarray:
    """Who the rule applies to: its minimum age, and the MLTC register when it says so."""
    mask = _age_mask(features, rule.min_age, f"worklist rule {rule.id!r}")
    if rule.on_register:
        if "mltc" not in features.column_names:
            raise ValueError(
                f"worklist rule {rule.id!r} applies to the MLTC register, but the features lack mltc"
            )
        mask &= _rows_mask(features.column("mltc"), pc.equal, True)
    return mask


def _criterion_mask(features: pa.Table, criterion: WorklistCriterion) -> np.ndarray:
    """Who meets the criterion; the same semantics as ``WorklistCriterion.evaluate`` (and its min_age)."""
    if criterion.feature not in features.column_names:
        raise ValueError(f"worklist criterion names feature {criterion.feature!r}, which the features lack")
    column = features.column(criterion.feature)
    is_bool = pa.types.is_boolean(column.type)
    is_number = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    if criterion.op == "is_true":
        mask = pc.equal(column, True) if is_bool else None
    elif criterion.op == "==":
        if (
            criterion.value is None
            or is_bool != isinstance(criterion.value, bool)
            or (isinstance(criterion.value, int | float) and not (is_number or is_bool))
        ):
            mask = None
        else:
            mask = pc.equal(column, criterion.value)
    else:
        if not is_number or criterion.value is None or isinstance(criterion.value, str):
            mask = None
        else:
            compare = {">=": pc.greater_equal, ">": pc.greater, "<=": pc.less_equal, "<": pc.less}[
                criterion.op
            ]
            mask = compare(column.cast(pa.float64()), float(criterion.value))
    if mask is None:
        return np.zeros(features.num_rows, dtype=bool)
    met: np.ndarray = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
    met &= _age_mask(features, criterion.min_age, f"worklist criterion on {criterion.feature!r}")
    return met


def _reason_texts(
    features: pa.Table, criterion: WorklistCriterion, rows: np.ndarray, met: np.ndarray
) -> pa.Array:
    """The criterion's reason for each of ``rows`` (null where not met), formatted once per distinct
    combination of the values it names (columns the features lack fall back, see ``explain``)."""
    indices = pa.array(rows[met], pa.int64())
    values = features.column(criterion.feature).take(indices).combine_chunks()
    named = [n for n in criterion.template_fields if n in features.column_names]
    if named:
        others = [features.column(n).take(indices).to_pylist() for n in named]
        cache: dict[tuple[Any, ...], str] = {}
        texts_list: list[str] = []
        for key in zip(values.to_pylist(), *others, strict=True):
            text = cache.get(key)
            if text is None:
                text = cache[key] = criterion.explain(key[0], dict(zip(named, key[1:], strict=True)))
            texts_list.append(text)
        per_row = pa.array(texts_list, pa.string())
    else:
        distinct = pc.unique(values)
        texts = pa.array([criterion.explain(v) for v in distinct.to_pylist()], pa.string())
        per_row = texts.take(pc.index_in(values, value_set=distinct))
    positions = np.full(len(rows), -1, dtype=np.int64)
    positions[np.flatnonzero(met)] = np.arange(int(met.sum()))
    return per_row.take(pa.array(positions, pa.int64(), mask=positions < 0))


def _points(
    features: pa.Table, criterion: WorklistCriterion, rows: np.ndarray, met: np.ndarray
) -> np.ndarray:
    """What the criterion adds to the score of each of ``rows`` (0 where not met)."""
    points = np.zeros(len(rows), dtype=np.float64)
    if criterion.per_unit:
        column = features.column(criterion.feature).take(pa.array(rows, pa.int64())).cast(pa.float64())
        earned = criterion.weight * np.nan_to_num(column.to_numpy(zero_copy_only=False).astype(np.float64))
        if criterion.max_points is not None:
            earned = np.minimum(earned, criterion.max_points)
        points[met] = earned[met]
    else:
        points[met] = criterion.weight
    return points


def _interleave(columns: Sequence[pa.Array], count: int) -> tuple[pa.Array, np.ndarray]:
    """Criterion-major columns (nulls where absent) as row-major values and list offsets per row."""
    k = len(columns)
    combined = pa.concat_arrays(list(columns))
    order = (np.arange(k)[None, :] * count + np.arange(count)[:, None]).ravel()
    row_major = combined.take(pa.array(order, pa.int64()))
    valid = np.asarray(row_major.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    offsets = np.concatenate([[0], np.cumsum(valid.reshape(count, k).sum(axis=1))]).astype(np.int32)
    return row_major.filter(pa.array(valid)), offsets


def _repeat(label: str, count: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(count, dtype=np.int32)), pa.array([label], pa.string())
    )


def _source(rule: WorklistRule) -> str:
    return "; ".join(rule.sources)


@dataclass(frozen=True)
class _Evaluated:
    rows: np.ndarray
    reasons: pa.Array
    priority: np.ndarray
    parts: pa.Array


def _evaluate_rule(features: pa.Table, rule: WorklistRule) -> _Evaluated:
    """Rows on the list, each with its reasons (criteria met, in rule order) and its priority."""
    if not rule.criteria:
        raise ValueError(f"worklist rule {rule.id!r} has no criteria")
    eligible = _eligible(features, rule)
    masks = np.vstack([_criterion_mask(features, c) for c in rule.criteria]) & eligible
    on_list = masks.any(axis=0) if rule.match == "any" else masks.all(axis=0)
    rows = np.flatnonzero(on_list)
    count = len(rows)
    texts = [_reason_texts(features, c, rows, masks[j, rows]) for j, c in enumerate(rule.criteria)]
    values, offsets = _interleave(texts, count)
    reasons = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)
    # The score: every criterion met and every priority factor met, each with the points it adds.
    scored = list(zip(rule.criteria, texts, strict=True))
    for factor in rule.priority_factors:
        met = _criterion_mask(features, factor)[rows]
        scored.append((factor, _reason_texts(features, factor, rows, met)))
    points = [
        _points(features, c, rows, np.asarray(t.is_valid().to_numpy(zero_copy_only=False))) for c, t in scored
    ]
    priority = np.sum(points, axis=0) if points else np.zeros(count)
    part_columns = [
        pa.StructArray.from_arrays(
            [text, pa.array(p, pa.float64())], fields=list(PRIORITY_PART), mask=pa.array(p <= 0)
        )
        for (_, text), p in zip(scored, points, strict=True)
    ]
    part_values, part_offsets = _interleave(part_columns, count)
    parts = pa.ListArray.from_arrays(pa.array(part_offsets, pa.int32()), part_values)
    return _Evaluated(rows, reasons, np.asarray(priority, dtype=np.float64), parts)


def compute_worklists(
    features: pa.Table,
    rules: Sequence[WorklistRule] | None = None,
    overrides: Iterable[WorklistOverride] = (),
    *,
    as_of: dt.date | None = None,
    added_weight: float | None = None,
) -> pa.Table:
    """Every person on every list (:data:`WORKLIST_SCHEMA`), ordered by list then person.

    ``rules`` default to the reviewed rules of ``careweave.terminology``. ``overrides`` are applied
    in order (a later decision about the same person and list replaces an earlier one); a removal
    whose review date is on or before ``as_of`` no longer applies. ``added_weight``: the points a
    clinician's addition adds (default: the reviewed ``removals`` setting).
    """
    if rules is None:
        from careweave.terminology import load_worklist_rules

        rules = load_worklist_rules()
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError("worklist rule ids are not unique")
    if not set(MEDICINES_COLUMNS) <= set(features.column_names):
        # features computed without the medicines review (issue 13): no findings for anyone
        features = with_medicines_features(features, None)
    if "worklist_excluded" in features.column_names:
        # A person rule set them aside from every proactive list (exclusions.yaml: deregistered,
        # palliative or end of life care register); the dead are not in the features at all.
        features = features.filter(pc.is_null(features.column("worklist_excluded")))
    person_ids = features.column("person_id")
    parts: list[pa.Table] = []
    for rule in rules:
        found = _evaluate_rule(features, rule)
        count = len(found.rows)
        parts.append(
            pa.Table.from_arrays(
                [
                    person_ids.take(pa.array(found.rows, pa.int64())).combine_chunks().cast(pa.int64()),
                    _repeat(rule.id, count),
                    _repeat(rule.title, count),
                    found.reasons,
                    _repeat(_source(rule), count),
                    pa.array(np.zeros(count, dtype=bool)),
                    pa.array(found.priority, pa.float64()),
                    found.parts,
                ],
                schema=WORKLIST_SCHEMA,
            )
        )
    entries = pa.concat_tables(parts) if parts else WORKLIST_SCHEMA.empty_table()
    if added_weight is None:
        from careweave.terminology import load_removal_settings

        added_weight = load_removal_settings().added_by_clinician_weight
    return apply_overrides(entries, overrides, rules, as_of=as_of, added_weight=added_weight)


def apply_overrides(
    entries: pa.Table,
    overrides: Iterable[WorklistOverride],
    rules: Sequence[WorklistRule],
    *,
    as_of: dt.date | None = None,
    added_weight: float = 0.0,
) -> pa.Table:
    """Apply clinicians' decisions to computed entries; pure, so it is applied after every run.

    - ``remove``: the person leaves the list until the review date (the override store keeps the
      reason and the audit); on or after it, the rule decides again;
    - ``add``: the person joins the list with the clinician's reason, or, if already on it, keeps
      the computed reasons plus the clinician's, marked ``overridden``; either way the addition adds
      ``added_weight`` to the priority, as its own part.

    Overrides for lists that no longer exist are ignored.
    """
    rules_by_id = {r.id: r for r in rules}
    decisions: dict[tuple[int, str], WorklistOverride] = {}
    for override in overrides:
        if override.list_id in rules_by_id:
            decisions[(int(override.person_id), override.list_id)] = override
    decisions = {key: o for key, o in decisions.items() if o.in_force(as_of)}
    if not decisions:
        return entries

    decided = np.zeros(entries.num_rows, dtype=bool)
    for list_id in {key[1] for key in decisions}:
        people = pa.array([p for p, lst in decisions if lst == list_id], pa.int64())
        on_list = pc.and_(
            pc.equal(entries.column("list_id"), list_id), pc.is_in(entries.column("person_id"), people)
        )
        decided |= np.asarray(on_list.to_numpy(zero_copy_only=False), dtype=bool)
    kept = entries.filter(pa.array(~decided))
    present = {
        (row["person_id"], row["list_id"]): row for row in entries.filter(pa.array(decided)).to_pylist()
    }
    added: list[dict[str, Any]] = []
    for (person_id, list_id), override in decisions.items():
        if override.action == "remove":
            continue
        rule = rules_by_id[list_id]
        note = f"Added by a clinician: {override.reason.strip()}"
        part = [{"reason": note, "points": added_weight}] if added_weight > 0 else []
        existing = present.get((person_id, list_id))
        if existing is None:
            reasons, source, priority, parts = [note], CLINICIAN_SOURCE, 0.0, part
        else:
            reasons, source = [*existing["reasons"], note], existing["source"]
            priority, parts = existing["priority"], [*existing["priority_parts"], *part]
        added.append(
            {
                "person_id": person_id,
                "list_id": list_id,
                "list_title": rule.title,
                "reasons": reasons,
                "source": source,
                "overridden": True,
                "priority": priority + added_weight,
                "priority_parts": parts,
            }
        )
    result = pa.concat_tables(
        [kept, pa.Table.from_pylist(added, schema=WORKLIST_SCHEMA)]
    ).unify_dictionaries()
    rank = {rule_id: i for i, rule_id in enumerate(rules_by_id)}
    list_ids = result.column("list_id").combine_chunks()
    dictionary_rank = np.array([rank[x] for x in list_ids.dictionary.to_pylist()], dtype=np.int64)
    list_rank = dictionary_rank[list_ids.indices.to_numpy(zero_copy_only=False)]
    order = np.lexsort((result.column("person_id").to_numpy(), list_rank))
    return result.take(pa.array(order, pa.int64())).combine_chunks()
