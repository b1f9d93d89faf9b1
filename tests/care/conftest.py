"""The web tests' small world, plus staff from other organisations to build care teams from."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.governance.models import Role
from tests.factories import StaffFactory
from tests.web.conftest import fast_password_hashing, world  # noqa: F401  (fixtures, re-exported)


@pytest.fixture
def team_world(world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    world["nurse_hospital"] = StaffFactory(username="nurse.county", role=Role.NURSE, organisation=world["hospital"])
    world["social_worker"] = StaffFactory(
        username="sw.shire", role=Role.SOCIAL_WORKER, organisation=world["council"]
    )
    world["gp_a"].first_name, world["gp_a"].last_name = "Gwen", "Price"
    world["gp_a"].save()
    return world
