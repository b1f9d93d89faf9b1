"""Home readings ingested through /fhir/Observation from many devices at once (issue 16, figures).

    uv run python bench/bench_readings.py [--devices 200] [--seconds 20] [--worker/--no-worker]

Builds a fresh SQLite database with one person per device, a device account and bearer token each
(`careweave.monitoring.services.create_device`), starts `careweave serve` (waitress, 4 threads) and
`careweave worker` as real processes on loopback, then POSTs vital-signs Observations (blood
pressure, weight, pulse; about one in ten above the NICE home BP threshold, so alerts are raised)
with a real HTTP client: first from 1 device sequentially (the baseline), then from N devices
concurrently. Prints readings/s, median and p95 latency and failures for both against the goal
(500 readings/s on 2 cores), and how long the worker took from a reading's write to its alert
evaluation (goal: within 60 s), with the alert Tasks raised.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
CAREWEAVE = str(Path(sys.executable).parent / "careweave")
GOAL_PER_SECOND = 500.0
GOAL_EVALUATED_S = 60.0
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
VITAL = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
    ]
}


def reading(patient: str, rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL],
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": dt.datetime.now(dt.UTC).isoformat(),
        "device": {"identifier": {"system": "https://fhir.careweave.org/Id/home-device", "value": patient}},
    }
    kind = rng.random()
    if kind < 0.5:
        high = rng.random() < 0.2
        systolic, diastolic = (
            (rng.randint(140, 160), rng.randint(86, 95)) if high else (rng.randint(110, 130), 75)
        )
        body["code"] = {"coding": [{"system": LOINC, "code": "85354-9"}]}
        body["component"] = [
            {"code": {"coding": [{"system": LOINC, "code": code}]},
             "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}}
            for code, value in (("8480-6", systolic), ("8462-4", diastolic))
        ]  # fmt: skip
    elif kind < 0.8:
        body["code"] = {"coding": [{"system": LOINC, "code": "29463-7"}]}
        body["valueQuantity"] = {
            "value": round(rng.uniform(60, 90), 1),
            "unit": "kg",
            "system": UCUM,
            "code": "kg",
        }
    else:
        body["code"] = {"coding": [{"system": LOINC, "code": "8867-4"}]}
        body["valueQuantity"] = {"value": rng.randint(55, 95), "unit": "/min", "system": UCUM, "code": "/min"}
    return body


def load(base: str, devices: list[tuple[str, str]], seconds: float) -> dict[str, float]:
    """Each device posts readings back to back until the time is up; timings of every request."""
    import requests

    timings: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    start = threading.Barrier(len(devices))

    def device(index: int, patient: str, token: str) -> None:
        rng = random.Random(index)
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})
        start.wait()
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                ok = (
                    session.post(f"{base}/Observation", json=reading(patient, rng), timeout=120).status_code
                    == 201
                )
            except requests.RequestException:
                ok = False
            with lock:
                timings.append((time.perf_counter() - began) * 1000)
                failures[0] += 0 if ok else 1

    threads = [threading.Thread(target=device, args=(i, p, t)) for i, (p, t) in enumerate(devices)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ok = len(timings) - failures[0]
    return {
        "requests": len(timings),
        "stored_per_second": ok / elapsed,
        "median_ms": statistics.median(timings) if timings else 0.0,
        "p95_ms": statistics.quantiles(timings, n=20)[18] if len(timings) > 1 else (timings or [0.0])[0],
        "failures": failures[0],
        "seconds": elapsed,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 60) -> None:
    import requests

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {url}")


def setup(devices: int) -> list[tuple[str, str]]:
    from careweave.cli import setup_django

    setup_django()
    from careweave.fhir.importer import Importer
    from careweave.monitoring.services import create_device
    from careweave.record.models import Person

    entries = [
        {"resource": {"resourceType": "Organization", "id": "bench-practice", "name": "Bench Surgery"},
         "request": {"method": "POST", "url": "Organization"}}
    ]  # fmt: skip
    entries += [
        {"resource": {"resourceType": "Patient", "id": f"bench-{i}", "name": [{"family": f"Bench{i}"}],
                      "birthDate": "1950-01-01", "generalPractitioner": [{"reference": "Organization/bench-practice"}]},
         "request": {"method": "POST", "url": "Patient"}}
        for i in range(devices)
    ]  # fmt: skip
    Importer(source_system="urn:bench").import_bundle(
        {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    found = []
    for person in Person.objects.select_related("resource").order_by("pk"):
        _source, token = create_device(person=person, label=f"bench-{person.pk}")
        found.append((person.resource.logical_id, token))
    return found


def evaluation_lag(wait_s: float) -> dict[str, float]:
    """After the load: wait until the worker has evaluated everything (or `wait_s`), then the time from
    each reading's write to its evaluation."""
    from careweave.monitoring.models import HomeReading, HomeReadingAlert

    deadline = time.time() + wait_s
    while HomeReading.objects.filter(evaluated_at=None).exists() and time.time() < deadline:
        time.sleep(1)
    lags = [
        (evaluated - written).total_seconds()
        for written, evaluated in HomeReading.objects.exclude(evaluated_at=None).values_list(
            "resource__last_updated", "evaluated_at"
        )
    ]
    return {
        "evaluated": len(lags),
        "waiting": HomeReading.objects.filter(evaluated_at=None).count(),
        "p95_s": statistics.quantiles(lags, n=20)[18] if len(lags) > 1 else (lags or [0.0])[0],
        "max_s": max(lags, default=0.0),
        "alerts": HomeReadingAlert.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--baseline-seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-worker", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "readings.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careweave.config.settings")
    devices = setup(args.devices)
    port = free_port()
    server = subprocess.Popen(
        [CAREWEAVE, "serve", "--port", str(port), "--threads", str(args.threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        base = f"http://127.0.0.1:{port}/fhir"
        wait_for(f"{base}/metadata")
        baseline = load(base, devices[:1], args.baseline_seconds)
        if not args.no_worker:
            worker = subprocess.Popen(
                [CAREWEAVE, "worker", "--no-schedule", "--interval", "1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        concurrent = load(base, devices, args.seconds)
        lag = evaluation_lag(GOAL_EVALUATED_S * 3) if worker is not None else None
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
    print(
        f"Home readings through POST /fhir/Observation on loopback (SQLite, serve --threads {args.threads})"
    )
    print(f"{'':28}{'readings/s':>12}{'median ms':>11}{'p95 ms':>9}{'failures':>10}{'requests':>10}")
    for name, row in (("baseline: 1 device", baseline), (f"{args.devices} devices at once", concurrent)):
        print(
            f"{name:28}{row['stored_per_second']:>12.1f}{row['median_ms']:>11.1f}{row['p95_ms']:>9.1f}"
            f"{row['failures']:>10.0f}{row['requests']:>10.0f}"
        )
    verdict = "met" if concurrent["stored_per_second"] >= GOAL_PER_SECOND else "NOT met"
    print(
        f"goal: {GOAL_PER_SECOND:.0f} readings/s on 2 cores: {verdict} ({concurrent['stored_per_second']:.1f}/s)"
    )
    if lag is not None:
        within = "met" if lag["max_s"] <= GOAL_EVALUATED_S and lag["waiting"] == 0 else "NOT met"
        print(
            f"alert evaluation (careweave worker): {lag['evaluated']:.0f} reading values evaluated, "
            f"{lag['waiting']:.0f} still waiting; write to evaluation p95 {lag['p95_s']:.1f} s, max {lag['max_s']:.1f} s; "
            f"{lag['alerts']:.0f} alert Tasks; goal within {GOAL_EVALUATED_S:.0f} s: {within}"
        )


if __name__ == "__main__":
    main()
