"""The review's input tables, drawn from the population extract (``extract_schema.Extract``).

Dates become day numbers (days since 1970-01-01) and the person's date of birth a ``yyyymmdd``
number, so the SQL compares integers the same way on every engine. Conditions (not refuted, not
entered in error) and observations are one table of coded events, dated by onset (else recorded
date) and by effective time. The medication table may carry ``course`` (FHIR courseOfTherapyType:
acute, continuous, seasonal); an extract without it is read as "course not recorded".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from careweave.population.extract_schema import Extract, ExtractTable

EPOCH: Final = dt.date(1970, 1, 1)
NOT_EVENTS: Final = ("refuted", "entered-in-error")

PERSON: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("birth_ymd", pa.int32()),
        pa.field("sex", pa.string()),
        pa.field("deceased", pa.bool_()),
        pa.field("deceased_day", pa.int32()),
    ]
)
MEDICATION: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("system", pa.string()),
        pa.field("code", pa.string()),
        pa.field("display", pa.string()),
        pa.field("day", pa.int32()),
        pa.field("status", pa.string()),
        pa.field("course", pa.string()),
    ]
)
EVENT: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("system", pa.string()),
        pa.field("code", pa.string()),
        pa.field("day", pa.int32()),
        pa.field("value", pa.float64()),
    ]
)
SCHEMAS: Final = {"person": PERSON, "medication": MEDICATION, "event": EVENT}


def day_number(day: dt.date | None) -> int | None:
    return None if day is None else (day - EPOCH).days


def _table(table: ExtractTable) -> pa.Table:
    return table if isinstance(table, pa.Table) else table.to_table()


def _days(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.date32())
    return pc.cast(column, pa.int32())


def _string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.cast(column, pa.string())


@dataclass(frozen=True)
class ReviewInputs:
    """The three tables the review reads: ``person``, ``medication`` and ``event``."""

    tables: dict[str, pa.Table | ds.Dataset]

    def write(self, directory: Path) -> ReviewInputs:
        """Each table as ``<directory>/<name>.parquet``; the same inputs, scanned from there."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables.items():
            arrow = table if isinstance(table, pa.Table) else table.to_table()
            pq.write_table(arrow, directory / f"{name}.parquet", row_group_size=1 << 20)
        return ReviewInputs.open(directory)

    @classmethod
    def open(cls, directory: Path) -> ReviewInputs:
        """The tables of :meth:`write`, as lazily scanned Parquet datasets (checked against the schemas)."""
        tables: dict[str, pa.Table | ds.Dataset] = {}
        for name, schema in SCHEMAS.items():
            dataset = ds.dataset(directory / f"{name}.parquet", format="parquet")
            missing = [f.name for f in schema if f.name not in dataset.schema.names]
            if missing:
                raise ValueError(f"{directory / (name + '.parquet')}: no column(s) {', '.join(missing)}")
            tables[name] = dataset
        return cls(tables)

    @classmethod
    def from_extract(
        cls, extract: Extract, *, course: pa.Array | pa.ChunkedArray | None = None
    ) -> ReviewInputs:
        """The review's tables from a population extract; ``course`` (one per medication row) when known."""
        person = _table(extract.person)
        births = person.column("birth_date")
        ymd = pc.add(
            pc.add(
                pc.multiply(pc.cast(pc.year(births), pa.int32()), 10_000),
                pc.multiply(pc.cast(pc.month(births), pa.int32()), 100),
            ),
            pc.cast(pc.day(births), pa.int32()),
        )
        medication = _table(extract.medication)
        condition = _table(extract.condition)
        observation = _table(extract.observation)
        kept = condition.filter(
            pc.invert(
                pc.fill_null(
                    pc.is_in(_string(condition.column("verification_status")), pa.array(NOT_EVENTS)), False
                )
            )
        )
        condition_day = pc.coalesce(kept.column("onset_date"), kept.column("recorded_date"))
        events = pa.concat_tables(
            [
                pa.table(
                    [
                        kept.column("person_id"),
                        _string(kept.column("system")),
                        _string(kept.column("code")),
                        _days(condition_day),
                        pa.nulls(kept.num_rows, pa.float64()),
                    ],
                    schema=EVENT,
                ),
                pa.table(
                    [
                        observation.column("person_id"),
                        _string(observation.column("system")),
                        _string(observation.column("code")),
                        _days(observation.column("effective")),
                        observation.column("value"),
                    ],
                    schema=EVENT,
                ),
            ]
        )
        courses = (
            pa.nulls(medication.num_rows, pa.string()) if course is None else pc.cast(course, pa.string())
        )
        return cls(
            {
                "person": pa.table(
                    [
                        person.column("person_id"),
                        ymd,
                        _string(person.column("sex")),
                        person.column("deceased"),
                        _days(person.column("deceased_date")),
                    ],
                    schema=PERSON,
                ),
                "medication": pa.table(
                    [
                        medication.column("person_id"),
                        _string(medication.column("system")),
                        _string(medication.column("code")),
                        _string(medication.column("display")),
                        _days(medication.column("authored_on")),
                        _string(medication.column("status")),
                        courses,
                    ],
                    schema=MEDICATION,
                ),
                "event": events,
            }
        )
