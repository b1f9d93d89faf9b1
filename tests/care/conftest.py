"""The web tests' small world, plus staff from other organisations to build care teams from."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.governance.models import Role
from tests.web.conftest import fast_password_hashing, staff, world  # noqa: F401  (fixtures, re-exported)


@pytest.fixture
def team_world(world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    world["nurse_hospital"] = staff("nurse.county", Role.NURSE, world["hospital"])
    world["social_worker"] = staff("sw.shire", Role.SOCIAL_WORKER, world["council"])
    world["gp_a"].first_name, world["gp_a"].last_name = "Gwen", "Price"
    world["gp_a"].save()
    return world
