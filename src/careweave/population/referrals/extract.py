"""The referral scan's input: six Arrow tables, dates as day numbers since 1970-01-01."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.dataset as ds

EPOCH: Final = dt.date(1970, 1, 1)

SCHEMAS: Final[dict[str, pa.Schema]] = {
    # one row per ServiceRequest; services are ODS codes (or the Organization id when it has none)
    "referral": pa.schema(
        [
            ("referral_id", pa.string()),
            ("person_id", pa.int64()),
            ("nhs_number", pa.string()),
            ("authored_day", pa.int32()),
            ("status", pa.string()),  # ServiceRequest.status
            ("reason_code", pa.string()),
            ("from_service", pa.string()),
            ("to_service", pa.string()),
        ]
    ),
    # one row per fulfilment Task (its business state and when it was set)
    "task": pa.schema(
        [
            ("referral_id", pa.string()),
            ("business_status", pa.string()),
            ("status_reason", pa.string()),
            ("modified_day", pa.int32()),
        ]
    ),
    # a Task.output reference ("DocumentReference/x") of a referral's Task
    "task_output": pa.schema([("referral_id", pa.string()), ("letter_ref", pa.string())]),
    # a completed waiting-list validation Task
    "validation": pa.schema([("referral_id", pa.string()), ("validated_day", pa.int32())]),
    # an Appointment whose basedOn names the referral
    "appointment": pa.schema(
        [
            ("referral_id", pa.string()),
            ("status", pa.string()),
            ("start_day", pa.int32()),
            ("created_day", pa.int32()),
        ]
    ),
    # an outcome letter (DocumentReference or Composition) and the referral its context names, if any
    "letter": pa.schema(
        [("letter_ref", pa.string()), ("related_referral_id", pa.string()), ("letter_day", pa.int32())]
    ),
    # SNOMED CT is-a pairs among the referrals' reason codes (empty without a loaded release)
    "reason_is_a": pa.schema([("descendant", pa.string()), ("ancestor", pa.string())]),
}


def day_number(value: dt.date | None) -> int | None:
    return None if value is None else (value - EPOCH).days


def from_day(value: int | None) -> dt.date | None:
    return None if value is None else EPOCH + dt.timedelta(days=value)


@dataclass(frozen=True)
class ReferralExtract:
    """The tables, as Arrow tables or Parquet datasets (a 1M-person extract is never held in memory)."""

    tables: dict[str, pa.Table | ds.Dataset]

    def __post_init__(self) -> None:
        missing = set(SCHEMAS) - set(self.tables)
        if missing:
            raise ValueError(f"referral extract lacks table(s) {sorted(missing)}")
        for name, table in self.tables.items():
            if name not in SCHEMAS:
                raise ValueError(f"referral extract has an unknown table {name!r}")
            if not table.schema.equals(SCHEMAS[name]):
                raise ValueError(
                    f"referral extract table {name!r} has schema {table.schema}, expected {SCHEMAS[name]}"
                )

    @classmethod
    def from_rows(cls, **rows: list[dict[str, object]]) -> ReferralExtract:
        """Tables from lists of row dicts (absent tables are empty)."""
        return cls(
            {
                name: pa.Table.from_pylist(rows.get(name, []), schema=schema)
                for name, schema in SCHEMAS.items()
            }
        )

    @classmethod
    def open(cls, directory: Path) -> ReferralExtract:
        """A directory of ``<table>.parquet`` files, scanned lazily."""
        return cls(
            {name: ds.dataset(directory / f"{name}.parquet", schema=SCHEMAS[name]) for name in SCHEMAS}
        )
