"""Shared fixtures. Tests that need ../shared/data skip without it, except under CI where it must exist."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Spark on the tests' tiny tables: one shuffle partition instead of eight cuts each query's task
# overhead several-fold (a cluster keeps its own setting; this is only the tests' default).
os.environ.setdefault("CAREWEAVE_SPARK_SHUFFLE_PARTITIONS", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_data_dir(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: under CI ../shared/data must be present")
        pytest.skip(f"{path} not present (tests using real FHIR data need ../shared beside the repo)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _close_stray_test_database_sessions(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    """Before the test database is dropped, end any session a test left behind (a connection opened by
    a server or browser thread in a browser test), so PostgreSQL's DROP DATABASE is not refused."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
