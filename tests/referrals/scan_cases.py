"""Hand-made referral extracts for the scan's worked cases (Django-free)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from careweave.population.referrals import Finding, ReferralExtract, ReferralScan, day_number, scan
from careweave.population.referrals.engines import Engine

AS_OF = dt.date(2025, 6, 30)
GP, HOSP, COMMUNITY = "Y00001", "RXX01", "RYY02"


def weeks_ago(weeks: float) -> dt.date:
    return AS_OF - dt.timedelta(days=round(weeks * 7))


def months_after(start: dt.date, months: int) -> dt.date:
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1, day=min(start.day, 28))


@dataclass
class Case:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def _add(self, table: str, **row: Any) -> None:
        self.rows.setdefault(table, []).append(row)

    def referral(
        self,
        rid: str,
        authored: dt.date,
        *,
        person: int = 1,
        sender: str = GP,
        receiver: str = HOSP,
        reason: str = "30989003",
        status: str = "active",
    ) -> None:
        self._add(
            "referral",
            referral_id=rid,
            person_id=person,
            nhs_number=f"94347659{person:02d}",
            authored_day=day_number(authored),
            status=status,
            reason_code=reason,
            from_service=sender,
            to_service=receiver,
        )

    def task(self, rid: str, state: str, when: dt.date, reason: str | None = None) -> None:
        self._add(
            "task",
            referral_id=rid,
            business_status=state,
            status_reason=reason,
            modified_day=day_number(when),
        )

    def appointment(self, rid: str, status: str, start: dt.date, created: dt.date | None = None) -> None:
        self._add(
            "appointment",
            referral_id=rid,
            status=status,
            start_day=day_number(start),
            created_day=day_number(created),
        )

    def letter(self, ref: str, when: dt.date, related: str | None = None) -> None:
        self._add("letter", letter_ref=ref, related_referral_id=related, letter_day=day_number(when))

    def output(self, rid: str, ref: str) -> None:
        self._add("task_output", referral_id=rid, letter_ref=ref)

    def validated(self, rid: str, when: dt.date) -> None:
        self._add("validation", referral_id=rid, validated_day=day_number(when))

    def is_a(self, descendant: str, ancestor: str) -> None:
        self._add("reason_is_a", descendant=descendant, ancestor=ancestor)

    def extract(self) -> ReferralExtract:
        return ReferralExtract.from_rows(**self.rows)

    def scan(self, engine: Engine = "duckdb", question: ReferralScan | None = None) -> list[Finding]:
        return scan(self.extract(), question or ReferralScan.of(AS_OF), engine)


def kinds(findings: list[Finding]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.finding, f.rule, f.referrals) for f in findings]
