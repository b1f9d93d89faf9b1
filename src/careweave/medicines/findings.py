"""One person's medicines findings on the record's side: the Django-free review run on their record,
each finding known by a stable key, and the findings a reviewer accepted ("continue" with a reason)
set apart until the implicated medicines change. Callers open the record through governance first;
this module reads, it does not decide who may."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from careweave.medicines.models import Decision, FindingDecision
from careweave.medicines.review import person_inputs
from careweave.population.medicines import Finding, MedicinesReview
from careweave.population.medicines.engines import run
from careweave.population.medicines.findings import findings_from_rows
from careweave.record import models as rm

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def finding_key(finding: Finding) -> str:
    """The rule and the implicated medicines (system and code, in order): the same finding while the
    same medicines are implicated; a new one when any of them starts, stops or is switched."""
    medicines = sorted(f"{m.system}|{m.code}" for m in finding.medicines)
    text = "\n".join([finding.rule, *medicines])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CurrentMedicine:
    system: str
    code: str
    name: str
    since: dt.date | None
    repeat: bool


@dataclass(frozen=True)
class PersonFindings:
    """A person's open findings, those accepted (kept apart), and their current medicines."""

    as_of: dt.date
    open: tuple[Finding, ...]
    accepted: tuple[tuple[Finding, FindingDecision], ...]
    current: tuple[CurrentMedicine, ...]

    def by_key(self, key: str) -> Finding | None:
        found = [f for f in self.open if finding_key(f) == key]
        found += [f for f, _ in self.accepted if finding_key(f) == key]
        return found[0] if found else None

    @property
    def acb_total(self) -> int:
        return max((f.acb_total or 0 for f in self.open if f.rule == "ACB"), default=0)


def _current(table: pa.Table) -> tuple[CurrentMedicine, ...]:
    out: dict[tuple[str, str], CurrentMedicine] = {}
    epoch = dt.date(1970, 1, 1)
    for row in table.to_pylist():
        system, code = row.get("system") or "", row.get("code") or ""
        since_day = row.get("since_day")
        out[(system, code)] = CurrentMedicine(
            system=system,
            code=code,
            name=row.get("display") or code,
            since=epoch + dt.timedelta(days=int(since_day)) if since_day is not None else None,
            repeat=bool(row.get("is_repeat")),
        )
    return tuple(sorted(out.values(), key=lambda m: m.name.lower()))


def accepted_decisions(person_pk: int, keys: Iterable[str]) -> dict[str, FindingDecision]:
    """The latest decision per key, where it is "continue" (a later decision of another kind ends it)."""
    latest: dict[str, FindingDecision] = {}
    for decision in FindingDecision.objects.filter(person_id=person_pk, finding_key__in=list(keys)).order_by(
        "decided_at", "pk"
    ):
        latest[decision.finding_key] = decision
    return {k: d for k, d in latest.items() if d.decision == Decision.CONTINUE}


def person_findings(person: rm.Person, as_of: dt.date | None = None) -> PersonFindings:
    """The review on ``as_of`` (default today) for one person, accepted findings set apart."""
    when = as_of or dt.date.today()
    question = MedicinesReview.of(when, person_id=person.pk)
    rows, current = run(person_inputs(person), question)
    found = findings_from_rows(rows, question)
    keys = {finding_key(f): f for f in found}
    accepted = accepted_decisions(person.pk, keys) if keys else {}
    return PersonFindings(
        as_of=when,
        open=tuple(f for f in found if finding_key(f) not in accepted),
        accepted=tuple((keys[k], d) for k, d in accepted.items()),
        current=_current(current),
    )
