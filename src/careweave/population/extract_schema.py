"""The population extract: the six Arrow tables the analytics core reads, and their validator.

The Django side writes these tables from the shared care record (as Arrow tables or a directory of
Parquet files); the analytics core never sees Django. Every window in the features is measured
back from an ``as_of`` reference date passed alongside the extract, not stored in it.

A table may be held in memory (``pa.Table``) or as a lazily scanned Parquet dataset
(``pyarrow.dataset.Dataset``): DuckDB scans datasets without loading them, which keeps a 1M-person
extract well inside the memory goal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

ExtractTable: TypeAlias = "pa.Table | ds.Dataset"

#: The first columns of every coded table (conditions, medicines, observations): whose, and the code.
_CODED_KEYS: Final = (
    pa.field("person_id", pa.int64(), nullable=False),
    pa.field("system", pa.string(), nullable=False),
    pa.field("code", pa.string(), nullable=False),
)

PERSON_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("practice_id", pa.int64(), nullable=False),
        pa.field("birth_date", pa.date32(), nullable=False),
        pa.field("sex", pa.string(), nullable=False),
        pa.field("ethnicity_code", pa.string()),
        pa.field("imd_decile", pa.int8()),
        pa.field("lsoa", pa.string()),
        pa.field("deceased", pa.bool_(), nullable=False),
        pa.field("national_opt_out", pa.bool_(), nullable=False),
        # When known; a person who died after the reference date was alive on it.
        pa.field("deceased_date", pa.date32()),
    ]
)

CONDITION_SCHEMA: Final = pa.schema(
    [
        *_CODED_KEYS,
        pa.field("onset_date", pa.date32()),
        pa.field("recorded_date", pa.date32()),
        pa.field("clinical_status", pa.string()),
        pa.field("verification_status", pa.string()),
    ]
)

MEDICATION_SCHEMA: Final = pa.schema(
    [
        *_CODED_KEYS,
        pa.field("display", pa.string()),
        pa.field("authored_on", pa.date32()),
        pa.field("status", pa.string()),
    ]
)

ENCOUNTER_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("start", pa.timestamp("us")),
        pa.field("end", pa.timestamp("us")),
        pa.field("class_code", pa.string()),
        pa.field("unplanned", pa.bool_(), nullable=False),
        pa.field("organisation_id", pa.int64()),
        pa.field("sector", pa.string()),
        pa.field("practitioner_id", pa.int64()),
        # v3 ActPriority (EM, UR, EL, R...) and the encounter type code: what tells an emergency
        # admission and an A&E attendance from an urgent GP appointment (worklist_rules.yaml).
        pa.field("priority", pa.string()),
        pa.field("type_code", pa.string()),
    ]
)

OBSERVATION_SCHEMA: Final = pa.schema(
    [
        *_CODED_KEYS,
        pa.field("effective", pa.timestamp("us")),
        # In the canonical unit for the code (terminology/data/units.yaml); null when there is no numeric
        # value, the code has no reviewed canonical unit, or the unit sent could not be converted.
        pa.field("value", pa.float64()),
    ]
)

SOCIAL_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("recorded_date", pa.date32()),
    ]
)

EXTRACT_SCHEMAS: Final[dict[str, pa.Schema]] = {
    "person": PERSON_SCHEMA,
    "condition": CONDITION_SCHEMA,
    "medication": MEDICATION_SCHEMA,
    "encounter": ENCOUNTER_SCHEMA,
    "observation": OBSERVATION_SCHEMA,
    "social": SOCIAL_SCHEMA,
}

#: Allowed values of coded string columns (null is allowed where the column is nullable).
ALLOWED_VALUES: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("person", "sex"): frozenset({"male", "female", "other", "unknown"}),
    ("condition", "clinical_status"): frozenset(
        {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
    ),
    ("condition", "verification_status"): frozenset(
        {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
    ),
}

#: Columns added to the contract after its first version: a table built without one (in memory,
#: through :meth:`Extract.from_tables`) gets it as all nulls, which means "not recorded".
ADDED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "person": ("deceased_date",),
    "condition": ("verification_status",),
    "encounter": ("priority", "type_code"),
}

#: Clinical statuses under which a coded condition still counts (FHIR: the "active" family).
ACTIVE_CLINICAL_STATUSES: Final = ("active", "recurrence", "relapse")

# Column types accepted in place of the contract type: the same values, another physical layout.
_STRING_TYPES: Final = (pa.string(), pa.large_string())


class ExtractSchemaError(ValueError):
    """The extract does not match the contract; the message names the table and column."""


def _type_matches(expected: pa.DataType, actual: pa.DataType) -> bool:
    if expected == actual:
        return True
    if expected == pa.string():
        if actual in _STRING_TYPES:
            return True
        return pa.types.is_dictionary(actual) and actual.value_type in _STRING_TYPES
    return False


def validate_table(name: str, table: ExtractTable) -> None:
    """Raise ExtractSchemaError unless ``table`` satisfies the contract for extract table ``name``.

    Checks column presence and type for any table; for in-memory tables also checks that required
    columns hold no nulls and that coded columns hold only allowed values. Extra columns are allowed.
    """
    if name not in EXTRACT_SCHEMAS:
        raise ExtractSchemaError(f"unknown extract table {name!r}; expected one of {sorted(EXTRACT_SCHEMAS)}")
    expected_schema = EXTRACT_SCHEMAS[name]
    actual_schema = table.schema
    for expected in expected_schema:
        index = actual_schema.get_field_index(expected.name)
        if index < 0:
            raise ExtractSchemaError(f"extract table {name!r} has no column {expected.name!r}")
        actual_type = actual_schema.field(index).type
        if not _type_matches(expected.type, actual_type):
            raise ExtractSchemaError(
                f"extract table {name!r} column {expected.name!r}: expected {expected.type}, got {actual_type}"
            )
    if not isinstance(table, pa.Table):
        return
    for expected in expected_schema:
        column = table.column(expected.name)
        if not expected.nullable and column.null_count:
            raise ExtractSchemaError(
                f"extract table {name!r} column {expected.name!r}: {column.null_count} null value(s) "
                "in a required column"
            )
        allowed = ALLOWED_VALUES.get((name, expected.name))
        if allowed is not None and len(column):
            values = pc.unique(column.cast(pa.string()))
            unexpected = sorted(v for v in values.to_pylist() if v is not None and v not in allowed)
            if unexpected:
                raise ExtractSchemaError(
                    f"extract table {name!r} column {expected.name!r}: unexpected value(s) "
                    f"{unexpected[:5]}; allowed {sorted(allowed)}"
                )


def conform(name: str, table: pa.Table) -> pa.Table:
    """Return ``table`` with exactly the contract's columns, in order, cast to the contract types."""
    schema = EXTRACT_SCHEMAS[name]
    for column in ADDED_COLUMNS.get(name, ()):
        if table.schema.get_field_index(column) < 0:
            table = table.append_column(column, pa.nulls(table.num_rows, schema.field(column).type))
    validate_table(name, table)
    columns = [table.column(field.name).cast(field.type) for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def empty_table(name: str) -> pa.Table:
    """An empty table with the contract schema for ``name``."""
    return EXTRACT_SCHEMAS[name].empty_table()


def _dataset_path(directory: Path, name: str) -> Path:
    single = directory / f"{name}.parquet"
    if single.exists():
        return single
    folder = directory / name
    if folder.is_dir():
        return folder
    raise FileNotFoundError(f"extract directory {directory} has neither {name}.parquet nor {name}/")


@dataclass(frozen=True)
class Extract:
    """The six extract tables. ``source_dir`` is set when the tables are scanned from Parquet."""

    person: ExtractTable
    condition: ExtractTable
    medication: ExtractTable
    encounter: ExtractTable
    observation: ExtractTable
    social: ExtractTable
    source_dir: Path | None = None

    def tables(self) -> dict[str, ExtractTable]:
        """The tables by name, in contract order."""
        return {name: getattr(self, name) for name in EXTRACT_SCHEMAS}

    def validate(self) -> Extract:
        """Raise ExtractSchemaError naming the table and column at the first breach; return self."""
        for name, table in self.tables().items():
            validate_table(name, table)
        return self

    @classmethod
    def from_tables(cls, **tables: pa.Table) -> Extract:
        """Build from in-memory tables; a missing table is empty. Tables are conformed to the contract."""
        unknown = set(tables) - set(EXTRACT_SCHEMAS)
        if unknown:
            raise ExtractSchemaError(f"unknown extract table(s) {sorted(unknown)}")
        conformed = {
            name: conform(name, tables[name]) if name in tables else empty_table(name)
            for name in EXTRACT_SCHEMAS
        }
        return cls(**conformed)

    @classmethod
    def from_parquet_dir(cls, path: str | Path, *, in_memory: bool = False) -> Extract:
        """Open ``<path>/<table>.parquet`` (or ``<path>/<table>/`` part files) for each table.

        By default tables are lazily scanned datasets; ``in_memory=True`` reads them into Arrow.
        """
        directory = Path(path)
        tables: dict[str, ExtractTable] = {}
        for name in EXTRACT_SCHEMAS:
            dataset = ds.dataset(_dataset_path(directory, name), format="parquet")
            tables[name] = dataset.to_table() if in_memory else dataset
        extract = cls(**tables, source_dir=directory)
        return extract.validate()

    def to_parquet_dir(self, path: str | Path) -> Path:
        """Write each table to ``<path>/<table>.parquet``; return the directory."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables().items():
            arrow = table if isinstance(table, pa.Table) else table.to_table()
            pq.write_table(arrow, directory / f"{name}.parquet", row_group_size=1 << 20)
        return directory


__all__ = [
    "ACTIVE_CLINICAL_STATUSES",
    "ALLOWED_VALUES",
    "CONDITION_SCHEMA",
    "ENCOUNTER_SCHEMA",
    "EXTRACT_SCHEMAS",
    "MEDICATION_SCHEMA",
    "OBSERVATION_SCHEMA",
    "PERSON_SCHEMA",
    "SOCIAL_SCHEMA",
    "Extract",
    "ExtractSchemaError",
    "ExtractTable",
    "conform",
    "empty_table",
]
