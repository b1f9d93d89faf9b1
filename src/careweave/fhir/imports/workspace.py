"""Writes made from the workspace (a referral action, a booking, a sharing choice, a communication
need...) go through the importer as any sender's do: every person a write touches is decided as an
API write by this user would be (governance's `decide_write`), and the source is the user's own."""

from __future__ import annotations

from typing import Any, Final

from careweave.fhir.imports.pipeline import Importer
from careweave.fhir.imports.unit import ApiWriter, Entry, Verdict
from careweave.governance.access import decide_write, writing_organisation
from careweave.record import models as rm

WORKSPACE_SOURCE_PREFIX: Final = "urn:careweave:workspace:"  # + the user's username


def staff_writer(user: Any) -> ApiWriter:
    """The write policy of a member of staff writing from the workspace."""

    def allow(entry: Entry, person_pk: int | None) -> Verdict:
        person = rm.Person.objects.filter(pk=person_pk).first() if person_pk is not None else None
        decision = decide_write(user, person)
        return Verdict(decision.allowed, break_glass=decision.break_glass, reason=decision.reason)

    return ApiWriter(organisation_id=writing_organisation(user), allow=allow)


def workspace_importer(user: Any, writer: ApiWriter | None = None) -> Importer:
    """An importer for this user's workspace writes: references must resolve, and each write is
    decided by `writer` (default: `staff_writer`)."""
    return Importer(
        source_system=WORKSPACE_SOURCE_PREFIX + user.get_username(),
        strict_references=True,
        api=writer or staff_writer(user),
    )
