"""The scan's long-form rows as findings: one per person and pattern, in plain words with the dates,
the thresholds and the rule's citation (``referral_rules.yaml``). Written here, after the engine, so
DuckDB and Spark cannot explain the same rows differently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from .extract import from_day

if TYPE_CHECKING:
    from .spec import ReferralScan

# which reviewed block cites each rule
_SOURCE_OF = {
    "reason": "loop",
    "ping-pong": "loop",
    "unbooked": "lost",
    "unacknowledged": "lost",
    "did-not-attend": "did_not_attend",
    "no-letter": "no_outcome",
    "milestone": "validation",
}


@dataclass(frozen=True)
class Finding:
    person_id: int
    nhs_number: str | None
    finding: str  # loop | lost | no-outcome | validation-due
    rule: str
    referrals: tuple[str, ...]
    weeks_waiting: int | None
    explanation: str

    def as_json(self) -> dict[str, Any]:
        """The printed object: exactly these fields."""
        return {
            "nhs_number": self.nhs_number,
            "finding": self.finding,
            "referrals": list(self.referrals),
            "weeks_waiting": self.weeks_waiting,
            "explanation": self.explanation,
        }


def _date(day: int | None) -> str:
    value = from_day(day)
    return value.isoformat() if value else "an unrecorded date"


def _span(days: int) -> str:
    return f"{days // 7} weeks" if days % 7 == 0 else f"{days} days"


def _leg(row: dict[str, Any]) -> str:
    state = row["state"] + (f" ({row['status_reason']})" if row["status_reason"] else "")
    return f"{row['referral_id']} on {_date(row['authored_day'])} from {row['from_service'] or 'an unknown service'} to {row['to_service'] or 'an unknown service'}, {state}"


def _explain(rule: str, rows: Sequence[dict[str, Any]]) -> str:
    """A loop or a ping-pong: every referral of it, in order."""
    first = rows[0]
    if rule == "reason":
        legs = "; ".join(_leg(r) for r in rows)
        return (
            f"Referred {len(rows)} times within {_span(first['limit_days'])} for the same problem, after a "
            f"rejection: {legs}"
        )
    if rule == "ping-pong":
        legs = "; ".join(_leg(r) for r in rows)
        return f"Passed back and forth between two services within {_span(first['limit_days'])}: {legs}"
    raise ValueError(f"rule {rule!r} is explained column-wise")


MULTI_ROW_RULES = ("reason", "ping-pong")
FINDINGS_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("nhs_number", pa.string()),
        ("finding", pa.string()),
        ("rule", pa.string()),
        ("referrals", pa.list_(pa.string())),
        ("weeks_waiting", pa.int32()),
        ("explanation", pa.string()),
    ]
)


def _grouped(table: pa.Table, question: ReferralScan) -> pa.Table:
    """Loops and ping-pongs (few): grouped by (person, finding, rule, anchor) in Python; a group whose
    referrals are all in a larger group of the same person and rule is part of it, not repeated."""
    groups: dict[tuple[int, str, str, str], list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        groups.setdefault((row["person_id"], row["finding"], row["rule"], row["anchor"]), []).append(row)
    sets: dict[tuple[int, str, str], dict[str, frozenset[str]]] = {}
    for (person, finding, rule, anchor), rows in groups.items():
        sets.setdefault((person, finding, rule), {})[anchor] = frozenset(r["referral_id"] for r in rows)
    found = []
    for key, rows in groups.items():
        person, finding, rule, anchor = key
        siblings = sets[key[:3]]
        mine = siblings[anchor]
        if len(siblings) > 1 and any(
            other != anchor and (mine < theirs or (mine == theirs and other < anchor))
            for other, theirs in siblings.items()
        ):
            continue
        citation = question.rules.sources[_SOURCE_OF[rule]][0]
        found.append(
            {
                "person_id": person,
                "nhs_number": rows[0]["nhs_number"],
                "finding": finding,
                "rule": rule,
                "referrals": list(dict.fromkeys(r["referral_id"] for r in rows)),
                "weeks_waiting": None,
                "explanation": f"{_explain(rule, rows)} (as of {question.as_of.isoformat()}). Source: {citation}",
            }
        )
    return pa.Table.from_pylist(found, schema=FINDINGS_SCHEMA)


def _dates(days: pa.ChunkedArray | pa.Array, missing: str = "an unrecorded date") -> Any:
    return pc.fill_null(pc.cast(pc.cast(days, pa.date32()), pa.string()), missing)


def _spans(days: pa.ChunkedArray | pa.Array) -> Any:
    """Each threshold in words (few distinct values, so worded once each)."""
    distinct = pc.unique(days).to_pylist()
    words = pa.array([_span(d) if d is not None else "" for d in distinct], pa.string())
    return pc.take(words, pc.index_in(days, pa.array(distinct, days.type)))


def _join(*parts: Any) -> Any:
    return pc.binary_join_element_wise(*parts, "")


def _column_wise(table: pa.Table, rule: str, question: ReferralScan) -> pa.Table:
    """One finding per row (lost, no-outcome, validation-due), explained with Arrow's string kernels."""
    to = pc.if_else(pc.equal(table["to_service"], ""), "an unknown service", table["to_service"])
    referred = _join("Referred to ", to, " on ", _dates(table["authored_day"]))
    weeks = pc.cast(pc.divide(table["days_waiting"], 7), pa.int32())
    waited = _join(pc.cast(weeks, pa.string()), " weeks")
    limit = _spans(table["limit_days"])
    if rule == "unbooked":
        since = pc.fill_null(
            _join(" since ", pc.cast(pc.cast(table["state_day"], pa.date32()), pa.string())), ""
        )
        text = _join(
            referred,
            "; ",
            table["state"],
            since,
            " with no first appointment booked after ",
            waited,
            ", beyond the ",
            limit,
            " wait",
        )
    elif rule == "unacknowledged":
        text = _join(
            referred,
            " and never acknowledged; no first appointment booked after ",
            waited,
            ", beyond the ",
            limit,
            " wait",
        )
    elif rule == "did-not-attend":
        text = _join(
            referred,
            "; did not attend the appointment on ",
            _dates(table["event_day"]),
            " and not rebooked within ",
            limit,
            " (",
            waited,
            " since referral)",
        )
    elif rule == "no-letter":
        text = _join(
            referred,
            "; completed on ",
            _dates(table["event_day"]),
            " with no outcome letter back within ",
            limit,
        )
    elif rule == "milestone":
        text = _join(
            referred,
            " and still waiting after ",
            waited,
            "; not validated since the ",
            limit,
            " milestone (last validated: ",
            _dates(table["event_day"], "never"),
            ")",
        )
    else:
        raise ValueError(f"unknown rule {rule!r}")
    citation = question.rules.sources[_SOURCE_OF[rule]][0]
    text = _join(text, f" (as of {question.as_of.isoformat()}). Source: {citation}")
    n = table.num_rows
    referrals = pa.ListArray.from_arrays(
        pa.array(range(n + 1), pa.int32()), table["referral_id"].combine_chunks()
    )
    return pa.table(
        {
            "person_id": table["person_id"],
            "nhs_number": table["nhs_number"],
            "finding": table["finding"],
            "rule": table["rule"],
            "referrals": referrals,
            "weeks_waiting": weeks if rule != "no-letter" else pa.nulls(n, pa.int32()),
            "explanation": text,
        },
        schema=FINDINGS_SCHEMA,
    )


def findings_table(table: pa.Table, question: ReferralScan) -> pa.Table:
    """The engine's rows as one row per finding (:data:`FINDINGS_SCHEMA`), ordered by person, finding,
    rule and first referral."""
    rules = table["rule"]
    parts = [_grouped(table.filter(pc.is_in(rules, pa.array(MULTI_ROW_RULES))), question)]
    for rule in ("unbooked", "unacknowledged", "did-not-attend", "no-letter", "milestone"):
        part = table.filter(pc.equal(rules, rule))
        if part.num_rows:
            parts.append(_column_wise(part, rule, question))
    found = pa.concat_tables(parts)
    first = pc.list_element(found["referrals"], 0)
    keyed = found.append_column("first_referral", first)
    order = [
        ("person_id", "ascending"),
        ("finding", "ascending"),
        ("rule", "ascending"),
        ("first_referral", "ascending"),
    ]
    return keyed.sort_by(order).drop_columns(["first_referral"])


def findings_from_rows(table: pa.Table, question: ReferralScan) -> list[Finding]:
    """Every finding as a :class:`Finding`."""
    return [
        Finding(
            person_id=row["person_id"],
            nhs_number=row["nhs_number"],
            finding=row["finding"],
            rule=row["rule"],
            referrals=tuple(row["referrals"]),
            weeks_waiting=row["weeks_waiting"],
            explanation=row["explanation"],
        )
        for row in findings_table(table, question).to_pylist()
    ]
