"""A person in the web tests' small world on apixaban, aspirin and naproxen (issue 13's first case),
prescribed in the last month so the review on today's date finds them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from careweave.record import models as rm
from tests.factories import MedicationFactory
from tests.web.conftest import fast_password_hashing, world  # noqa: F401  (fixtures, re-exported)

DMD = "https://dmd.nhs.uk"
APIXABAN = ("703908001", "Apixaban 5mg tablets")
ASPIRIN = ("319773006", "Aspirin 75mg dispersible tablets")
NAPROXEN = ("329807003", "Naproxen 500mg tablets")


def prescribe(
    person: rm.Person, medicine: tuple[str, str], days_ago: int = 10, **fields: Any
) -> rm.Medication:
    code, name = medicine
    return MedicationFactory(
        person=person,
        system=DMD,
        code=code,
        display=name,
        authored_on=dt.date.today() - dt.timedelta(days=days_ago),
        course="continuous",
        **fields,
    )


@pytest.fixture
def on_three(world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    alice = world["alice"]
    alice.birth_date = dt.date(1934, 2, 1)
    alice.save(update_fields=["birth_date"])
    for medicine in (APIXABAN, ASPIRIN, NAPROXEN):
        prescribe(alice, medicine)
    return world
