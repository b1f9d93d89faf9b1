"""The medicines review as worklist features (issue 13, item 4): per person the number of findings,
the number of high-severity findings and the anticholinergic burden total, so the structured
medication review list is ranked by findings (severity, count, ACB; frailty is a priority factor in
``worklist_rules.yaml``) rather than by the count of medicines alone."""

from __future__ import annotations

import datetime as dt
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from .engines import Engine, run
from .inputs import ReviewInputs
from .spec import MedicinesReview

FEATURES: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("medicines_findings", pa.int64()),
        pa.field("medicines_high_findings", pa.int64()),
        pa.field("acb_total", pa.int64()),
    ]
)
COLUMNS: Final = tuple(f.name for f in FEATURES)[1:]


def worklist_features(inputs: ReviewInputs, as_of: dt.date, engine: Engine = "duckdb") -> pa.Table:
    """One row per person with a finding (``FEATURES``); people without findings are absent (0)."""
    question = MedicinesReview.of(as_of)
    rows, _current = run(inputs, question, engine)
    findings = rows.group_by(["person_id", "rule_id", "detail"], use_threads=False).aggregate(
        [("acb_total", "max")]
    )
    high = pa.array(sorted(r.id for r in question.rules.rules if r.severity == "high"), pa.string())
    findings = findings.append_column(
        "high", pc.cast(pc.is_in(findings.column("rule_id"), value_set=high), pa.int64())
    ).append_column("one", pa.array([1] * findings.num_rows, pa.int64()))
    per_person = findings.group_by("person_id", use_threads=False).aggregate(
        [("one", "sum"), ("high", "sum"), ("acb_total_max", "max")]
    )
    table = pa.table(
        [
            per_person.column("person_id"),
            per_person.column("one_sum"),
            per_person.column("high_sum"),
            pc.fill_null(per_person.column("acb_total_max_max"), 0),
        ],
        schema=FEATURES,
    )
    return table.sort_by("person_id")


def with_medicines_features(features: pa.Table, medicines: pa.Table | None) -> pa.Table:
    """``features`` with the three columns (0 for people without findings, or for everyone when the
    review was not run), in person order."""
    kept = features.drop_columns([c for c in COLUMNS if c in features.column_names])
    if medicines is None or medicines.num_rows == 0:
        for name in COLUMNS:
            kept = kept.append_column(name, pa.array([0] * kept.num_rows, pa.int64()))
        return kept
    joined = kept.join(medicines, "person_id", join_type="left outer").sort_by("person_id")
    for name in COLUMNS:
        index = joined.column_names.index(name)
        joined = joined.set_column(index, name, pc.fill_null(joined.column(name), 0))
    return joined
