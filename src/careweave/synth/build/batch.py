"""The NDJSON output of one chunk of people: serialised lines by resource type, flushed when large."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

# The order in which the generator writes its files.
RESOURCE_TYPES = (
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "RelatedPerson",
    "Condition",
    "MedicationRequest",
    "Observation",
    "Encounter",
    "Appointment",
    "ServiceRequest",
    "Task",  # referral journeys: the receiving service's Task, and the letters back
    "DocumentReference",
)
FLUSH_BYTES = 4 << 20


@dataclass
class Batch:
    """Serialised NDJSON for one chunk, by resource type.

    Lines are appended to one bytearray per type: orjson returns each document in a generously
    sized buffer, so keeping millions of small `bytes` objects alive would cost ~4 KB apiece.
    """

    sinks: dict[str, BinaryIO] | None = None  # if given, full buffers are flushed here (bounded memory)
    buffers: dict[str, bytearray] = field(default_factory=lambda: {t: bytearray() for t in RESOURCE_TYPES})
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESOURCE_TYPES, 0))

    def add(self, resource_type: str, resource: dict[str, Any]) -> None:
        buffer = self.buffers[resource_type]
        buffer += orjson.dumps(resource)
        buffer += b"\n"
        self.counts[resource_type] += 1
        if self.sinks is not None and len(buffer) >= FLUSH_BYTES:
            self.sinks[resource_type].write(buffer)
            buffer.clear()

    def flush(self) -> None:
        if self.sinks is not None:
            for resource_type, buffer in self.buffers.items():
                self.sinks[resource_type].write(buffer)
                buffer.clear()
