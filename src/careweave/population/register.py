"""The MLTC register: every person with two or more long-term conditions, and why they are on it.

:func:`compute_register` (from :mod:`careweave.population.compute`) returns the evidence rows: one
per condition, code and date that put a person on the register. This module shapes those rows for
people and staff: one entry per person listing the conditions, and sentences saying which code and
date (or which prescriptions) put each condition there.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from careweave.population.compute import compute_register
from careweave.population.features import REGISTER_SCHEMA

REGISTER_ENTRY_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("condition_ids", pa.list_(pa.string()), nullable=False),
        pa.field("condition_names", pa.list_(pa.string()), nullable=False),
        pa.field("condition_count", pa.int32(), nullable=False),
    ]
)
"""One row per person on the register; conditions in id order."""


@dataclass(frozen=True)
class ConditionEvidence:
    """Why one condition is on a person's register entry."""

    condition_id: str
    condition_name: str
    explanation: str


def register_entries(register: pa.Table) -> pa.Table:
    """One row per person on the register (:data:`REGISTER_ENTRY_SCHEMA`), in person order."""
    if register.num_rows == 0:
        return REGISTER_ENTRY_SCHEMA.empty_table()
    pairs = register.group_by(["person_id", "condition_id", "condition_name"]).aggregate([])
    pairs = pairs.sort_by([("person_id", "ascending"), ("condition_id", "ascending")])
    grouped = pairs.group_by("person_id", use_threads=False).aggregate(
        [("condition_id", "list"), ("condition_name", "list")]
    )
    grouped = grouped.sort_by("person_id")
    ids = grouped.column("condition_id_list")
    return pa.Table.from_arrays(
        [
            grouped.column("person_id").cast(pa.int64()),
            ids,
            grouped.column("condition_name_list"),
            pc.list_value_length(ids).cast(pa.int32()),
        ],
        schema=REGISTER_ENTRY_SCHEMA,
    )


def _when(day: dt.date | None) -> str:
    return f"on {day.strftime('%-d %B %Y')}" if day is not None else "with no date"


def explain_person(register: pa.Table, person_id: int) -> list[ConditionEvidence]:
    """Plain-English evidence for each condition on one person's register entry."""
    rows = register.filter(pc.equal(register.column("person_id"), person_id)).to_pylist()
    by_condition: dict[tuple[str, str], dict[str, list[tuple[dt.date | None, str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        key = (row["condition_id"], row["condition_name"])
        by_condition[key][row["evidence"]].append((row["date"], row["system"], row["code"]))
    out = []
    for (condition_id, name), kinds in sorted(by_condition.items()):
        parts = []
        diagnosis = sorted(kinds.get("diagnosis", []), key=lambda r: (r[0] or dt.date.min, r[2]))
        if diagnosis:
            codes = ", ".join(f"code {code} {_when(day)}" for day, _, code in diagnosis)
            parts.append(f"diagnosed ({codes})")
        ever = sorted(kinds.get("diagnosis_ever", []), key=lambda r: (r[0] or dt.date.min, r[2]))
        if ever:
            codes = ", ".join(f"code {code} {_when(day)}" for day, _, code in ever)
            parts.append(f"an earlier diagnosis ({codes})")
        medicine = sorted(kinds.get("medicine", []), key=lambda r: (r[0] or dt.date.min, r[2]))
        if medicine:
            days = sorted({day for day, _, _ in medicine if day is not None})
            first, last = days[0], days[-1]
            parts.append(
                f"{len(days)} prescription issue(s) of qualifying medicines between {_when(first)[3:]} "
                f"and {_when(last)[3:]}"
            )
        out.append(ConditionEvidence(condition_id, name, f"{name}: " + "; ".join(parts)))
    return out


__all__ = [
    "REGISTER_ENTRY_SCHEMA",
    "REGISTER_SCHEMA",
    "ConditionEvidence",
    "compute_register",
    "explain_person",
    "register_entries",
]


def person_register(features: pa.Table, evidence: pa.Table) -> list[dict[str, Any]]:
    """``careweave register``'s answer, by person: everyone in ``features`` (people alive on as_of) with
    at least one library condition, in person order, from the features and the ``condition_evidence``
    output.

    ``on_register`` is the MLTC register (2+ conditions, no person rule set them aside); ``excluded``
    names the rule that set them aside from it (exclusions.yaml, e.g. ``deregistered``), else None.
    Each condition carries the code and date that put it there: the latest diagnostic code, or for a
    condition met by medicines alone the latest qualifying issue. ``care_home`` and
    ``palliative_care`` are the person rules' own flags (neither sets anyone aside from the register).
    Keys are ``person_id`` (the caller adds the NHS number) and the fields the command prints.
    """
    chosen: dict[tuple[int, str], tuple[tuple[int, dt.date], dict[str, object]]] = {}
    rank = {"diagnosis": 2, "diagnosis_ever": 1, "medicine": 0}
    for row in evidence.to_pylist():
        key = (row["person_id"], row["condition_id"])
        order = (rank.get(row["evidence"], 0), row["date"] or dt.date.min)
        if key not in chosen or order > chosen[key][0]:
            chosen[key] = (
                order,
                {
                    "id": row["condition_id"],
                    "code": row["code"],
                    "system": row["system"],
                    "date": row["date"].isoformat() if row["date"] else None,
                },
            )
    conditions: dict[int, list[dict[str, object]]] = defaultdict(list)
    for (person_id, _), (_, item) in sorted(chosen.items()):
        conditions[person_id].append(item)
    names = ("person_id", "condition_count", "mltc", "cms_score", "efi_score", "efi_category", "excluded")
    flags = [n for n in ("care_home", "palliative_care") if n in features.column_names]
    columns = {n: features.column(n).to_pylist() for n in (*names, *flags)}
    out: list[dict[str, Any]] = []
    for i, person_id in enumerate(columns["person_id"]):
        if not columns["condition_count"][i]:
            continue
        out.append(
            {
                "person_id": person_id,
                "on_register": bool(columns["mltc"][i]),
                "condition_count": columns["condition_count"][i],
                "conditions": conditions.get(person_id, []),
                "cms": columns["cms_score"][i],
                "efi_score": columns["efi_score"][i],
                "efi_category": columns["efi_category"][i],
                "excluded": columns["excluded"][i],
                **{n: bool(columns[n][i]) for n in flags},
            }
        )
    return out
