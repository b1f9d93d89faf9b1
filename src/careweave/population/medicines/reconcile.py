"""Medicines reconciliation across admission and discharge (issue 13, item 5), Django-free: the
pre-admission list compared with the discharge list, each medicine started, stopped, changed (the
same ingredient at another strength, form or dose) or unchanged; and the due date of the practice's
reconciliation, 2 working days after the discharge information arrives."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

ChangeKind = Literal["started", "stopped", "changed", "unchanged"]
_NAME = re.compile(r"^[^\d(]+")


@dataclass(frozen=True)
class ListedMedicine:
    system: str
    code: str
    name: str
    dose: str = ""

    @property
    def ingredient(self) -> str:
        """The name before the strength ("Naproxen 500mg tablets" -> "naproxen"), lowercase."""
        found = _NAME.match(self.name.strip())
        return " ".join((found.group(0) if found else self.name).lower().split())


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    before: ListedMedicine | None
    after: ListedMedicine | None

    @property
    def name(self) -> str:
        shown = self.after or self.before
        assert shown is not None
        return shown.name

    @property
    def needs_reason(self) -> bool:
        """Every change but "unchanged" needs the reconciling clinician's reason."""
        return self.kind != "unchanged"


def compare(before: list[ListedMedicine], after: list[ListedMedicine]) -> list[Change]:
    """Each medicine of either list once: the same code, else the same ingredient, is one medicine;
    same code and dose is unchanged, anything else about it is changed. Ordered by name."""
    changes: list[Change] = []
    unmatched = list(after)
    for old in before:
        match = next((m for m in unmatched if (m.system, m.code) == (old.system, old.code)), None)
        if match is None:
            match = next((m for m in unmatched if m.ingredient == old.ingredient), None)
        if match is None:
            changes.append(Change("stopped", old, None))
            continue
        unmatched.remove(match)
        same = (match.system, match.code) == (old.system, old.code) and match.dose.strip() == old.dose.strip()
        changes.append(Change("unchanged" if same else "changed", old, match))
    changes += [Change("started", None, new) for new in unmatched]
    return sorted(changes, key=lambda c: (c.name.lower(), c.kind))


def add_working_days(day: dt.date, days: int) -> dt.date:
    """``days`` working days (Monday to Friday) after ``day``; bank holidays are not known here."""
    current = day
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current
