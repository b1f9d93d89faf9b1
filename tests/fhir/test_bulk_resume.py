"""ADR 0016 in real processes on SQLite and PostgreSQL: `careweave import` killed with SIGKILL in the
middle of a Bulk Data load leaves committed batches only, and running it again completes the load with
the counts of a clean load and no duplicates; two imports of the same files at once both exit 0 and
create each resource once.

PostgreSQL runs when a server answers at CAREWEAVE_TEST_POSTGRES (default
postgres://postgres@127.0.0.1:5432/postgres); each test creates and drops its own databases
(test_fhirapi_*), so it never touches another's."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from careweave.synth import generate
from tests.fhir.conftest import transaction_bundle

CAREWEAVE = str(Path(sys.executable).parent / "careweave")
TABLES = (
    "record_storedresource",
    "record_person",
    "record_condition",
    "record_encounter",
    "record_appointment",
    "record_medication",
    "record_observation",
    "record_resourceidentifier",
    "record_carerelationship",
    "record_organisation",
    "record_practitionerrole",
)


PG_ADMIN = os.environ.get("CAREWEAVE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


class Db:
    """A database for one run of `careweave import`: a SQLite file, or a PostgreSQL database of its own."""

    def __init__(self, engine: str, tmp_path: Path, name: str) -> None:
        self.engine = engine
        self.path = tmp_path / f"{name}.sqlite3"
        self.name = f"test_fhirapi_{name}_{os.getpid()}"
        self.url = f"sqlite:///{self.path}"
        if engine == "postgres":
            self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
            with _pg(PG_ADMIN) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        if self.engine == "postgres":
            with _pg(PG_ADMIN) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def scalar(self, sql: str) -> int:
        if self.engine == "postgres":
            with _pg(self.url) as conn:
                row = conn.execute(sql).fetchone()
        else:
            with sqlite3.connect(self.path, timeout=1) as lite:
                row = lite.execute(sql).fetchone()
        return int(row[0]) if row else 0


def _pg(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _postgres_answers() -> bool:
    try:
        with _pg(PG_ADMIN):
            return True
    except Exception:  # noqa: BLE001 - no server, no PostgreSQL run
        return False


ENGINES = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=pytest.mark.skipif(not _postgres_answers(), reason="no PostgreSQL server answers"),
    ),
]


@pytest.fixture
def dbs(tmp_path: Path) -> Any:
    made: list[Db] = []

    def make(engine: str, name: str) -> Db:
        made.append(Db(engine, tmp_path, name))
        return made[-1]

    yield make
    for db in made:
        db.drop()


def start(db: Db, data: Path, batch: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "DJANGO_SETTINGS_MODULE": "careweave.config.settings",
    }
    return subprocess.Popen(
        [CAREWEAVE, "import", str(data), "--json", "--batch-size", str(batch)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes]) -> dict[str, object]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, (out[-2000:], err[-2000:])
    summary: dict[str, object] = json.loads(out)
    return summary


def counts(db: Db) -> dict[str, int]:
    return {t: db.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}  # noqa: S608


def stored(db: Db) -> int:
    try:
        return db.scalar("SELECT count(*) FROM record_storedresource")
    except Exception:  # noqa: BLE001 - not migrated yet (sqlite3 or psycopg says so in its own way)
        return 0


def lines(data: Path) -> int:
    """The resources in the set: one per type and id (a referral's Task arrives as one line per version)."""
    return len(
        {
            (resource["resourceType"], resource["id"])
            for p in data.glob("*.ndjson")
            for line in p.read_bytes().splitlines()
            if line.strip() and (resource := orjson.loads(line))
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_load_killed_midway_is_completed_by_running_it_again(tmp_path: Path, dbs: Any, engine: str) -> None:
    data = tmp_path / "synth"
    generate(60, 9, data)
    total = lines(data)
    clean = dbs(engine, "clean")
    finish(start(clean, data, 50))
    expected = counts(clean)
    assert expected["record_storedresource"] == total

    killed = dbs(engine, "killed")
    process = start(killed, data, 50)
    while stored(killed) < total // 4:
        assert process.poll() is None, "the load finished before it could be killed"
        time.sleep(0.02)
    assert process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = stored(killed)
    assert 0 < partial < total  # stopped in the middle: only committed batches are there

    summary = finish(start(killed, data, 50))
    totals = summary["totals"]
    assert isinstance(totals, dict)
    assert totals["unchanged"] >= partial and totals["created"] == total - partial
    assert counts(killed) == expected
    twice = killed.scalar(
        "SELECT count(*) FROM (SELECT source_system, resource_type, source_id FROM record_storedresource"
        " GROUP BY 1, 2, 3 HAVING count(*) > 1) AS repeated"
    )
    assert twice == 0


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_two_imports_of_the_same_files_at_once_both_succeed_without_duplicates(
    tmp_path: Path, dbs: Any, engine: str
) -> None:
    data = tmp_path / "synth"
    generate(40, 4, data)
    (data / "bundle.json").write_bytes(orjson.dumps(transaction_bundle()))  # a unit of its own
    db = dbs(engine, "shared")
    # migrated first, as a deployment is; two first-ever migrations at once is another matter
    subprocess.run(
        [sys.executable, "-c", "from careweave.cli import setup_django; setup_django()"],
        env={**os.environ, "DATABASE_URL": db.url},
        check=True,
        capture_output=True,
    )
    first, second = start(db, data, 200), start(db, data, 200)
    one, two = finish(first), finish(second)
    total = lines(data) + len(transaction_bundle()["entry"])
    created = [s["totals"]["created"] for s in (one, two)]  # type: ignore[index]
    assert sum(created) == total  # each resource created by exactly one of them
    assert counts(db)["record_storedresource"] == total
    assert db.scalar("SELECT count(*) FROM record_person") == 41
