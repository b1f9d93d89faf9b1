"""The scan's long-form rows as findings: one per person and pattern, in plain words with the dates,
the thresholds and the rule's citation (``referral_rules.yaml``). Written here, after the engine, so
DuckDB and Spark cannot explain the same rows differently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

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
    first, last = rows[0], rows[-1]
    if rule == "reason":
        legs = "; ".join(_leg(r) for r in rows)
        return (
            f"Referred {len(rows)} times within {_span(first['limit_days'])} for the same problem, after a "
            f"rejection: {legs}"
        )
    if rule == "ping-pong":
        legs = "; ".join(_leg(r) for r in rows)
        return f"Passed back and forth between two services within {_span(first['limit_days'])}: {legs}"
    to = last["to_service"] or "an unknown service"
    referred = f"Referred to {to} on {_date(last['authored_day'])}"
    waited = f"{last['days_waiting'] // 7} weeks" if last["days_waiting"] is not None else ""
    if rule == "unbooked":
        since = f" since {_date(last['state_day'])}" if last["state_day"] is not None else ""
        return (
            f"{referred}; {last['state']}{since} with no first appointment booked after {waited}, beyond the "
            f"{_span(last['limit_days'])} wait"
        )
    if rule == "unacknowledged":
        return (
            f"{referred} and never acknowledged; no first appointment booked after {waited}, beyond the "
            f"{_span(last['limit_days'])} wait"
        )
    if rule == "did-not-attend":
        return (
            f"{referred}; did not attend the appointment on {_date(last['event_day'])} and not rebooked within "
            f"{_span(last['limit_days'])} ({waited} since referral)"
        )
    if rule == "no-letter":
        return (
            f"{referred}; completed on {_date(last['event_day'])} with no outcome letter back within "
            f"{_span(last['limit_days'])}"
        )
    validated = _date(last["event_day"]) if last["event_day"] is not None else "never"
    return (
        f"{referred} and still waiting after {waited}; not validated since the {_span(last['limit_days'])} "
        f"milestone (last validated: {validated})"
    )


def findings_from_rows(table: pa.Table, question: ReferralScan) -> list[Finding]:
    """Group the rows (person, finding, rule, anchor) and explain each group; a group whose referrals
    are all in a larger group of the same person and rule is part of it and is not repeated."""
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
        days = rows[-1]["days_waiting"]
        found.append(
            Finding(
                person_id=person,
                nhs_number=rows[0]["nhs_number"],
                finding=finding,
                rule=rule,
                referrals=tuple(dict.fromkeys(r["referral_id"] for r in rows)),
                weeks_waiting=None if days is None else days // 7,
                explanation=f"{_explain(rule, rows)} (as of {question.as_of.isoformat()}). Source: {citation}",
            )
        )
    return found
