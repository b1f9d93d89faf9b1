"""Worklists: who needs care co-ordination, a medicines review, an MDT discussion, overdue monitoring
or follow-up after discharge, and why, in words.

Each rule is reviewed data (``careweave.terminology.load_worklist_rules``) with its sources. A person
is on a list when the rule's criteria match their features (``any`` or ``all``); every criterion that
matched adds its reason, filled with the person's value. Clinicians' overrides (add or remove, with
a reason) are stored elsewhere and applied here, after every computation, so they survive re-runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from careweave.terminology.models import WorklistCriterion, WorklistRule

# Labels repeated on every row of a list are dictionary-encoded: a million entries share a few strings.
_LABEL: Final = pa.dictionary(pa.int32(), pa.string())

WORKLIST_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("list_id", _LABEL, nullable=False),
        pa.field("list_title", _LABEL, nullable=False),
        pa.field("reasons", pa.list_(pa.string()), nullable=False),
        pa.field("source", _LABEL, nullable=False),
        pa.field("overridden", pa.bool_(), nullable=False),
    ]
)
"""One row per person per list, lists in rule order, people in id order. ``reasons``: plain-English
sentences, never empty. ``source``: the rule's citations (or the clinician override). ``overridden``:
a clinician added the person. ``list_id``, ``list_title`` and ``source`` are dictionary-encoded."""

CLINICIAN_SOURCE: Final = "Clinician override"


@dataclass(frozen=True)
class WorklistOverride:
    """A clinician's decision to add a person to a list or remove them, with the reason."""

    person_id: int
    list_id: str
    action: Literal["add", "remove"]
    reason: str

    def __post_init__(self) -> None:
        if self.action not in ("add", "remove"):
            raise ValueError(f"override action must be 'add' or 'remove', not {self.action!r}")
        if not self.reason.strip():
            raise ValueError("an override needs a reason")


def _criterion_mask(features: pa.Table, criterion: WorklistCriterion) -> np.ndarray:
    """Which people meet the criterion; the same semantics as ``WorklistCriterion.evaluate``."""
    if criterion.feature not in features.column_names:
        raise ValueError(f"worklist criterion names feature {criterion.feature!r}, which the features lack")
    column = features.column(criterion.feature)
    is_bool = pa.types.is_boolean(column.type)
    is_number = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    if criterion.op == "is_true":
        mask = pc.equal(column, True) if is_bool else None
    elif criterion.op == "==":
        if criterion.value is None or is_bool != isinstance(criterion.value, bool) or (
            isinstance(criterion.value, int | float) and not (is_number or is_bool)
        ):
            mask = None
        else:
            mask = pc.equal(column, criterion.value)
    else:
        if not is_number or criterion.value is None or isinstance(criterion.value, str):
            mask = None
        else:
            compare = {">=": pc.greater_equal, ">": pc.greater, "<=": pc.less_equal, "<": pc.less}[criterion.op]
            mask = compare(column.cast(pa.float64()), float(criterion.value))
    if mask is None:
        return np.zeros(features.num_rows, dtype=bool)
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _reason_texts(features: pa.Table, criterion: WorklistCriterion, rows: np.ndarray, met: np.ndarray) -> pa.Array:
    """The criterion's reason for each of ``rows`` (null where not met), formatted once per value."""
    values = features.column(criterion.feature).take(pa.array(rows[met], pa.int64())).combine_chunks()
    distinct = pc.unique(values)
    texts = pa.array([criterion.explain(v) for v in distinct.to_pylist()], pa.string())
    per_row = texts.take(pc.index_in(values, value_set=distinct))
    positions = np.full(len(rows), -1, dtype=np.int64)
    positions[np.flatnonzero(met)] = np.arange(int(met.sum()))
    return per_row.take(pa.array(positions, pa.int64(), mask=positions < 0))


def _repeat(label: str, count: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(count, dtype=np.int32)), pa.array([label], pa.string()))


def _source(rule: WorklistRule) -> str:
    return "; ".join(rule.sources)


def _evaluate_rule(features: pa.Table, rule: WorklistRule) -> tuple[np.ndarray, pa.Array]:
    """Rows on the list, and for each a list of the reasons (criteria met, in rule order)."""
    if not rule.criteria:
        raise ValueError(f"worklist rule {rule.id!r} has no criteria")
    masks = np.vstack([_criterion_mask(features, c) for c in rule.criteria])
    on_list = masks.any(axis=0) if rule.match == "any" else masks.all(axis=0)
    rows = np.flatnonzero(on_list)
    count, k = len(rows), len(rule.criteria)
    texts = [_reason_texts(features, c, rows, masks[j, rows]) for j, c in enumerate(rule.criteria)]
    # Interleave criterion-major texts into row-major order, drop criteria not met, cut into lists.
    combined = pa.concat_arrays(texts) if texts else pa.array([], pa.string())
    order = (np.arange(k)[None, :] * count + np.arange(count)[:, None]).ravel()
    row_major = combined.take(pa.array(order, pa.int64()))
    valid = np.asarray(row_major.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values = row_major.filter(pa.array(valid))
    offsets = np.concatenate([[0], np.cumsum(valid.reshape(count, k).sum(axis=1))]).astype(np.int32)
    return rows, pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def compute_worklists(
    features: pa.Table,
    rules: Sequence[WorklistRule] | None = None,
    overrides: Iterable[WorklistOverride] = (),
) -> pa.Table:
    """Every person on every list (:data:`WORKLIST_SCHEMA`), ordered by list then person.

    ``rules`` default to the reviewed rules of ``careweave.terminology``. ``overrides`` are applied
    in order (a later decision about the same person and list replaces an earlier one).
    """
    if rules is None:
        from careweave.terminology import load_worklist_rules

        rules = load_worklist_rules()
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError("worklist rule ids are not unique")
    if "worklist_excluded" in features.column_names:
        # A person rule set them aside from every proactive list (exclusions.yaml: deregistered,
        # palliative or end of life care register); the dead are not in the features at all.
        features = features.filter(pc.is_null(features.column("worklist_excluded")))
    person_ids = features.column("person_id")
    parts: list[pa.Table] = []
    for rule in rules:
        rows, reasons = _evaluate_rule(features, rule)
        count = len(rows)
        parts.append(
            pa.Table.from_arrays(
                [
                    person_ids.take(pa.array(rows, pa.int64())).combine_chunks().cast(pa.int64()),
                    _repeat(rule.id, count),
                    _repeat(rule.title, count),
                    reasons,
                    _repeat(_source(rule), count),
                    pa.array(np.zeros(count, dtype=bool)),
                ],
                schema=WORKLIST_SCHEMA,
            )
        )
    entries = pa.concat_tables(parts) if parts else WORKLIST_SCHEMA.empty_table()
    return apply_overrides(entries, overrides, rules)


def apply_overrides(
    entries: pa.Table, overrides: Iterable[WorklistOverride], rules: Sequence[WorklistRule]
) -> pa.Table:
    """Apply clinicians' decisions to computed entries; pure, so it is applied after every run.

    - ``remove``: the person leaves the list (the override store keeps the reason and the audit);
    - ``add``: the person joins the list with the clinician's reason, or, if already on it, keeps
      the computed reasons plus the clinician's, marked ``overridden``.

    Overrides for lists that no longer exist are ignored.
    """
    rules_by_id = {r.id: r for r in rules}
    decisions: dict[tuple[int, str], WorklistOverride] = {}
    for override in overrides:
        if override.list_id in rules_by_id:
            decisions[(int(override.person_id), override.list_id)] = override
    if not decisions:
        return entries

    decided = np.zeros(entries.num_rows, dtype=bool)
    for list_id in {key[1] for key in decisions}:
        people = pa.array([p for p, lst in decisions if lst == list_id], pa.int64())
        on_list = pc.and_(pc.equal(entries.column("list_id"), list_id), pc.is_in(entries.column("person_id"), people))
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
        existing = present.get((person_id, list_id))
        if existing is None:
            reasons, source = [note], CLINICIAN_SOURCE
        else:
            reasons, source = [*existing["reasons"], note], existing["source"]
        added.append(
            {
                "person_id": person_id,
                "list_id": list_id,
                "list_title": rule.title,
                "reasons": reasons,
                "source": source,
                "overridden": True,
            }
        )
    result = pa.concat_tables([kept, pa.Table.from_pylist(added, schema=WORKLIST_SCHEMA)]).unify_dictionaries()
    rank = {rule_id: i for i, rule_id in enumerate(rules_by_id)}
    list_ids = result.column("list_id").combine_chunks()
    dictionary_rank = np.array([rank[x] for x in list_ids.dictionary.to_pylist()], dtype=np.int64)
    list_rank = dictionary_rank[list_ids.indices.to_numpy(zero_copy_only=False)]
    order = np.lexsort((result.column("person_id").to_numpy(), list_rank))
    return result.take(pa.array(order, pa.int64())).combine_chunks()
