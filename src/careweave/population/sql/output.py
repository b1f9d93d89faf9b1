"""The outputs' order and shape: the query an engine runs to fetch an output, and the Arrow casts that
give every engine's answer the same stable schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pyarrow as pa

from careweave.population.features import PATTERN_COUNT_COLUMN, REGISTER_SCHEMA, FeatureSpecification

#: How each output is ordered (the engines sort; ties are fully broken so the order is exact).
OUTPUT_ORDER: Final[dict[str, str]] = {
    "features": "person_id ASC",
    "register": "person_id ASC, condition_id ASC, evidence ASC, evidence_date ASC NULLS LAST, system ASC, code ASC",
}
OUTPUT_ORDER["condition_evidence"] = OUTPUT_ORDER["register"]
OUTPUT_ORDER["monitoring_due"] = "person_id ASC, rule_id ASC"
OUTPUT_ORDER["slot_inputs"] = OUTPUT_ORDER["features"]

#: Every monitoring rule that applies to a person, with the interval their stage calls for and the
#: latest observation of its check (see :mod:`careweave.population.sql.monitoring`).
MONITORING_DUE_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("rule_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("check_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("interval_count", pa.int32(), nullable=False),
        pa.field("interval_unit", pa.string(), nullable=False),
        pa.field("interval_text", pa.string(), nullable=False),
        pa.field("last_system", pa.string()),
        pa.field("last_code", pa.string()),
        pa.field("last_date", pa.date32()),
        pa.field("last_value", pa.float64()),
        pa.field("overdue", pa.bool_(), nullable=False),
    ]
)


def output_query(output: str) -> str:
    """The query an engine runs to fetch an output, in its exact order."""
    return f"SELECT * FROM {output} ORDER BY {OUTPUT_ORDER[output]}"


def shape_features(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Engine output (already in person order) cast to the stable feature schema."""
    columns = [table.column(f.name).cast(f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def shape_output(output: str, table: pa.Table, spec: FeatureSpecification) -> pa.Table:
    """Any output's engine answer (already in :data:`OUTPUT_ORDER`) in its stable schema."""
    if output == "features":
        return shape_features(table, spec.feature_schema())
    if output == "slot_inputs":
        return shape_features(table, spec.slot_input_schema())
    if output == "monitoring_due":
        columns = [table.column(f.name).cast(f.type) for f in MONITORING_DUE_SCHEMA]
        return pa.Table.from_arrays(columns, schema=MONITORING_DUE_SCHEMA)
    return shape_register(table)


def shape_register(table: pa.Table) -> pa.Table:
    """Engine output (already ordered by :data:`OUTPUT_ORDER`) as :data:`REGISTER_SCHEMA`."""
    table = table.rename_columns(["date" if n == "evidence_date" else n for n in table.column_names])
    columns = [table.column(f.name).cast(f.type) for f in REGISTER_SCHEMA]
    return pa.Table.from_arrays(columns, schema=REGISTER_SCHEMA)


def shape_patterns(table: pa.Table, indicator_columns: Sequence[str]) -> pa.Table:
    """Pattern counts in a deterministic order: indicator columns then ``people``."""
    names = [*indicator_columns, PATTERN_COUNT_COLUMN]
    columns = [table.column(n) for n in names]
    columns[-1] = columns[-1].cast(pa.int64())
    shaped = pa.Table.from_arrays(columns, names=names)
    return shaped.sort_by([(n, "ascending") for n in indicator_columns]) if indicator_columns else shaped
