"""ADR 0016 in real processes on SQLite: `careweave import` killed with SIGKILL in the middle of a
Bulk Data load leaves committed batches only, and running it again completes the load with the
counts of a clean load and no duplicates; two imports of the same files at once both exit 0 and
create each resource once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

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


def start(db: Path, data: Path, batch: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
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


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM record_storedresource").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
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
def test_a_load_killed_midway_is_completed_by_running_it_again(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(60, 9, data)
    total = lines(data)
    clean = tmp_path / "clean.sqlite3"
    finish(start(clean, data, 50))
    expected = counts(clean)
    assert expected["record_storedresource"] == total

    killed = tmp_path / "killed.sqlite3"
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
    with sqlite3.connect(killed) as conn:
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT source_system, resource_type, source_id FROM record_storedresource"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1)"
        ).fetchone()[0]
    assert twice == 0


@pytest.mark.slow
def test_two_imports_of_the_same_files_at_once_both_succeed_without_duplicates(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(40, 4, data)
    (data / "bundle.json").write_bytes(orjson.dumps(transaction_bundle()))  # a unit of its own
    db = tmp_path / "shared.sqlite3"
    # migrated first, as a deployment is; two first-ever migrations at once is another matter
    subprocess.run(
        [sys.executable, "-c", "from careweave.cli import setup_django; setup_django()"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{db}"},
        check=True,
        capture_output=True,
    )
    first, second = start(db, data, 200), start(db, data, 200)
    one, two = finish(first), finish(second)
    total = lines(data) + len(transaction_bundle()["entry"])
    created = [s["totals"]["created"] for s in (one, two)]  # type: ignore[index]
    assert sum(created) == total  # each resource created by exactly one of them
    assert counts(db)["record_storedresource"] == total
    with sqlite3.connect(db) as conn:
        people = conn.execute("SELECT count(*) FROM record_person").fetchone()[0]
    assert people == 41
