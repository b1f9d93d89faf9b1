"""The ``engine`` fixture: a test that takes it runs once per population engine.

DuckDB always; Spark marked ``spark`` (deselect with ``-m "not spark"``). The Spark session is started
once per test session and every Spark engine reuses it (``spark_session`` is get-or-create), as
``tests/engines/test_parity.py`` does, so the Spark cases cost their queries, not a JVM start each.
"""

from __future__ import annotations

from typing import Any

import pytest

from careweave.population.features import EngineName


@pytest.fixture(scope="session")
def spark_session_once() -> Any:
    from careweave.population.engines.spark_engine import spark_session

    return spark_session()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> EngineName:
    name: EngineName = request.param
    if name == "spark":
        request.getfixturevalue("spark_session_once")
    return name
