"""What the summary and huddles show of contact: the person's communication needs in words (for the
summary's top line), whether they need an interpreter, and each communication for the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from careweave.contact.models import Communication
from careweave.contact.needs import information_needs, needs_interpreter, recorded_codes
from careweave.contact.resources import CHANNEL_NAMES, PURPOSE_NAMES
from careweave.record import models as rm

STATUS_WORDS = {
    "completed": "delivered",
    "in-progress": "sent",
    "preparation": "for staff to do",
    "not-done": "failed",
    "stopped": "not read in time: tried the next way",
}


def communication_needs(person: rm.Person) -> list[str]:
    """The person's recorded communication needs by name (unknown codes as recorded), and
    "Needs an interpreter" / "Needs a BSL interpreter" first when they do."""
    out: list[str] = []
    codes = recorded_codes(person)
    interpreter = needs_interpreter(person, codes)
    if interpreter:
        out.append(f"Needs {'a BSL' if interpreter.startswith('BSL') else 'an'} interpreter")
    table = information_needs().by_code
    for code in codes:
        need = table.get(code)
        name = need.name if need is not None else code
        if need is not None and need.interpreter:
            continue  # said above
        if name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class CommunicationRow:
    when: datetime
    kind: str
    description: str
    organisation: str
    sector: str


def communication_rows(person: rm.Person, limit: int = 200) -> list[CommunicationRow]:
    """One row per attempt: "Text message", "Review invitation: delivered (to the carer)"."""
    rows = []
    for c in (
        Communication.objects.filter(person=person)
        .select_related("request", "request__sender")
        .order_by("-pk")[:limit]
    ):
        sender = c.request.sender
        words = STATUS_WORDS.get(c.status, c.status)
        carer = " (to the carer)" if c.request.recipient == "carer" else ""
        fmt = (
            c.request.letter_format.replace("_", " ")
            if c.channel == "letter" and c.request.letter_format != "standard"
            else ""
        )
        rows.append(
            CommunicationRow(
                when=c.sent or c.request.authored,
                kind=CHANNEL_NAMES.get(c.channel, c.channel),
                description=f"{PURPOSE_NAMES.get(c.request.purpose, c.request.purpose)}{' in ' + fmt if fmt else ''}: {words}{carer}",
                organisation=sender.name if sender is not None else "CareWeave",
                sector=sender.get_sector_display() if sender is not None else "Unknown",
            )
        )
    return rows
