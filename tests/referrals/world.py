"""A referrals world imported as FHIR (the way senders' data arrives): a GP practice, two hospital
services and a community service, three people with referral histories that the scan flags, and
staff at the practice (a care co-ordinator) and elsewhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.record import models as rm
from tests.factories import StaffFactory
from tests.referrals import journeys

WEEKS = dt.timedelta(weeks=1)


@dataclass
class World:
    today: dt.date
    coordinator: Any
    outsider: Any
    practice: rm.Organisation
    hospital: rm.Organisation
    community: rm.Organisation
    lost: rm.Referral  # accepted 30 weeks ago, never booked (lost, validation due)
    waiting: rm.Referral  # received 14 weeks ago (validation due only)
    elsewhere: rm.Referral  # a person in another practice's care, lost too

    def person(self, referral: rm.Referral) -> rm.Person:
        return referral.person


def build(today: dt.date | None = None) -> World:
    today = today or dt.date.today()
    history = journeys.base()  # gp (Y00001), hosp (RXX01), patient p1
    history.add(journeys.organisation("comm", "RYY01", "Community Physiotherapy"))
    history.add(journeys.organisation("other-gp", "Y00002", "Hilltop Surgery"))
    history.add(journeys.patient("p2", "9434765870"))
    history.add(journeys.patient("p3", "9434765862"))
    history.referral("sr-lost", "p1", "gp", "hosp", today - 30 * WEEKS)
    history.task(
        "task-lost",
        "sr-lost",
        "p1",
        "hosp",
        ("received", today - 29 * WEEKS),
        ("accepted", today - 28 * WEEKS),
    )
    history.referral("sr-wait", "p2", "gp", "comm", today - 14 * WEEKS)
    history.task(
        "task-wait", "sr-wait", "p2", "comm", ("received", today - 14 * WEEKS + dt.timedelta(days=2))
    )
    history.referral("sr-else", "p3", "other-gp", "hosp", today - 30 * WEEKS)
    history.task("task-else", "sr-else", "p3", "hosp", ("accepted", today - 28 * WEEKS))
    Importer(source_system="urn:test:senders").import_bundle(history.bundle(), "referrals.json")
    practice = rm.Organisation.objects.get(resource__logical_id="gp")
    other = rm.Organisation.objects.get(resource__logical_id="other-gp")
    referral = rm.Referral.objects.select_related("person", "person__resource", "resource")
    return World(
        today=today,
        coordinator=StaffFactory(username="coordinator", role=Role.CARE_COORDINATOR, organisation=practice),
        outsider=StaffFactory(username="other.gp", role=Role.GP, organisation=other),
        practice=practice,
        hospital=rm.Organisation.objects.get(resource__logical_id="hosp"),
        community=rm.Organisation.objects.get(resource__logical_id="comm"),
        lost=referral.get(resource__logical_id="sr-lost"),
        waiting=referral.get(resource__logical_id="sr-wait"),
        elsewhere=referral.get(resource__logical_id="sr-else"),
    )
