"""The continuity indices' input: one row per contact (person, day, clinician), dates as day numbers
since 1970-01-01 so every engine does the same integer arithmetic; and the reader of a CSV of
``person,date,clinician`` rows, which refuses a bad row naming the file, the row and the column."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import pyarrow as pa

from careweave.population.referrals.extract import EPOCH, day_number

CONTACT_SCHEMA: Final = pa.schema([("person", pa.string()), ("day", pa.int32()), ("clinician", pa.string())])
CSV_COLUMNS: Final = ("person", "date", "clinician")
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

__all__ = [
    "CONTACT_SCHEMA",
    "CSV_COLUMNS",
    "ContactFileError",
    "EPOCH",
    "contacts",
    "day_number",
    "read_contacts_csv",
]


class ContactFileError(ValueError):
    """A contacts file that cannot be read; the message names the file, the row and the column."""


def contacts(rows: Iterable[tuple[str, dt.date, str]]) -> pa.Table:
    """The contact table from (person, date, clinician) tuples, in any order."""
    people, days, clinicians = [], [], []
    for person, date, clinician in rows:
        people.append(person)
        days.append(day_number(date))
        clinicians.append(clinician)
    return pa.table({"person": people, "day": days, "clinician": clinicians}, schema=CONTACT_SCHEMA)


def _date(text: str) -> dt.date:
    if not _ISO_DATE.match(text):
        raise ValueError
    return dt.date.fromisoformat(text)


def read_contacts_csv(path: Path) -> pa.Table:
    """Every row of a CSV with header columns ``person``, ``date`` (YYYY-MM-DD) and ``clinician`` (other
    columns are ignored; rows in any order), or :class:`ContactFileError` for the first bad row:
    rows are numbered from 1 after the header, and the file's line is given too."""
    name = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ContactFileError(f"{name}: no such file") from None
    except OSError as error:
        raise ContactFileError(f"{name}: cannot be read ({error.strerror or error})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as error:
            raise ContactFileError(f"{name}: line 1 (header): not a readable CSV header ({error})") from None
        if header is None:
            raise ContactFileError(f"{name}: the file is empty (expected a header: {','.join(CSV_COLUMNS)})")
        names = [column.strip() for column in header]
        missing = [column for column in CSV_COLUMNS if column not in names]
        if missing:
            raise ContactFileError(
                f"{name}: line 1 (header): missing column(s) {', '.join(missing)} "
                f"(expected {','.join(CSV_COLUMNS)})"
            )
        where = {column: names.index(column) for column in CSV_COLUMNS}
        people: list[str] = []
        days: list[int] = []
        clinicians: list[str] = []
        row_number = 0
        try:
            for fields in reader:
                if not fields:
                    continue  # a blank line is not a contact
                row_number += 1
                at = f"{name}: row {row_number} (line {reader.line_num})"
                values = {}
                for column, index in where.items():
                    if index >= len(fields):
                        raise ContactFileError(
                            f"{at}, column {column}: missing (the row has {len(fields)} fields)"
                        )
                    values[column] = fields[index].strip()
                    if not values[column]:
                        raise ContactFileError(f"{at}, column {column}: empty")
                try:
                    date = _date(values["date"])
                except ValueError:
                    raise ContactFileError(
                        f"{at}, column date: {values['date']!r} is not a date YYYY-MM-DD"
                    ) from None
                people.append(values["person"])
                days.append((date - EPOCH).days)
                clinicians.append(values["clinician"])
        except (csv.Error, UnicodeDecodeError) as error:
            raise ContactFileError(f"{name}: row {row_number + 1}: not readable as CSV ({error})") from None
    return pa.table({"person": people, "day": days, "clinician": clinicians}, schema=CONTACT_SCHEMA)
