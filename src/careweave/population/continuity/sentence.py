"""The person's summary in words: "Saw their usual GP at 7 of their last 10 appointments".

From one person's GP contacts (date, clinician), put in the reviewed order (date, then clinician),
the last ``last_appointments`` of them (``continuity.yaml``): the usual GP is the clinician seen most
often among them (on a tie, the one seen most recently). Nothing is said below
``minimum_appointments`` contacts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from careweave.terminology.continuity import ContinuityDefinitions, load_continuity


@dataclass(frozen=True)
class UsualClinician:
    clinician: str  # an identifier, never shown
    seen: int  # contacts with them among the last ``out_of``
    out_of: int
    sentence: str


def _times(n: int) -> str:
    return "appointment" if n == 1 else "appointments"


def usual_gp(
    contacts: Iterable[tuple[dt.date, str]], definitions: ContinuityDefinitions | None = None
) -> UsualClinician | None:
    """Who the person saw most at their last appointments, and the sentence; None for too few."""
    rules = definitions or load_continuity()
    last = sorted(contacts)[-rules.last_appointments :]
    if len(last) < rules.minimum_appointments:
        return None
    counts = Counter(clinician for _, clinician in last)
    most = max(counts.values())
    usual = next(clinician for _, clinician in reversed(last) if counts[clinician] == most)
    if most == 1:
        sentence = f"Saw a different GP at each of their last {len(last)} {_times(len(last))}"
    else:
        sentence = f"Saw their usual GP at {most} of their last {len(last)} {_times(len(last))}"
    return UsualClinician(usual, most, len(last), sentence)
