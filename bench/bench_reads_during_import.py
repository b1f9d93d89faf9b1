"""FHIR reads on SQLite while `careweave import` loads a Bulk Data set (issue 11, item 5).

    uv run python bench/bench_reads_during_import.py [--people 200] [--importing 800] [--clients 2]

Loads N synthetic people, serves the API (waitress, on loopback), and measures audited reads
(`Patient/{id}` and `Condition?patient={id}`, each writing an audit row) for a few seconds with
nothing else running (the baseline), then again while another process imports M more people.
Prints requests/s, median and p95 latency and the failures (any non-200) for both. The goal: reads
stay usable during a load, with no failures ("database is locked" used to be a 500).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
CAREWEAVE = str(Path(sys.executable).parent / "careweave")


def synth(people: int, seed: int) -> Path:
    from careweave.synth import generate

    out = OUT / f"reads-synth-{people}-{seed}"
    if not (out / "Patient.ndjson").exists():
        generate(people, seed, out)
    return out


def measure(
    base: str, token: str, ids: list[str], clients: int, running: Callable[[], bool]
) -> dict[str, float]:
    import requests

    timings: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while running():
            person = rng.choice(ids)
            url = rng.choice((f"{base}/Patient/{person}", f"{base}/Condition?patient={person}"))
            started = time.perf_counter()
            try:
                ok = session.get(url, timeout=120).status_code == 200
            except requests.RequestException:
                ok = False
            with lock:
                timings.append((time.perf_counter() - started) * 1000)
                failures[0] += 0 if ok else 1

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    return {
        "requests": len(timings),
        "per_second": len(timings) / seconds,
        "median_ms": statistics.median(timings),
        "p95_ms": statistics.quantiles(timings, n=20)[18] if len(timings) > 1 else timings[0],
        "failures": failures[0],
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--importing", type=int, default=800)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--baseline-seconds", type=float, default=8.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "reads.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careweave.config.settings")
    first, second = synth(args.people, 21), synth(args.importing, 22)
    subprocess.run([CAREWEAVE, "import", str(first), "--json"], check=True, capture_output=True)

    from careweave.cli import setup_django

    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server

    from careweave.governance.models import ApiToken, Role, StaffProfile
    from careweave.record.models import Person, StoredResource

    user, _ = get_user_model().objects.get_or_create(username="bench-reader")
    StaffProfile.objects.update_or_create(user=user, defaults={"role": Role.INTEGRATOR})
    token = ApiToken.issue(user, "bench")
    ids = list(Person.objects.values_list("resource__logical_id", flat=True))
    server = create_server(get_wsgi_application(), host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}/fhir"

    deadline = time.perf_counter() + args.baseline_seconds
    idle = measure(base, token, ids, args.clients, lambda: time.perf_counter() < deadline)
    before = StoredResource.objects.count()
    load = subprocess.Popen(
        [CAREWEAVE, "import", str(second), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    during = measure(base, token, ids, args.clients, lambda: load.poll() is None)
    load.communicate()
    imported = StoredResource.objects.count() - before
    server.close()

    print(
        f"FHIR reads on SQLite (WAL), {args.clients} clients, {len(ids):,} people held; "
        f"the import adds {args.importing:,} people ({imported:,} resources, exit {load.returncode})"
    )
    print(f"{'phase':24} {'requests':>9} {'req/s':>8} {'median ms':>10} {'p95 ms':>9} {'failures':>9}")
    for phase, figures in (("baseline (no import)", idle), ("during the import", during)):
        print(
            f"{phase:24} {figures['requests']:>9,.0f} {figures['per_second']:>8.1f} "
            f"{figures['median_ms']:>10.1f} {figures['p95_ms']:>9.1f} {figures['failures']:>9,.0f}"
        )
    print(f"import took {during['seconds']:.1f} s while serving reads")
    print("goal: no failures during the import, p95 under a second (issue 11 measured 28.6 s and 500s)")


if __name__ == "__main__":
    main()
