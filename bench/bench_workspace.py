"""Server time of the clinician's workspace under concurrent use: the holistic summary, the today page
and the worklist.

    uv run python bench/bench_workspace.py [--database-url postgres://postgres@127.0.0.1:5432/careweave_bench]
        [--clients 20] [--requests 50] [--json]

Against a loaded database (bench/bench_import.py loads 100k synthetic people; `careweave demo
--people N --no-serve` with DATABASE_URL set makes a small one), this creates a GP at the practice
with the most registered people, runs `careweave serve` (waitress) in its own process on a free
loopback port, signs each client in through the login form (with its CSRF token), and has every client
request the summary of random people in that GP's care and the worklist page in turn.

Server time is read from the `Server-Timing` header the app adds to every response
(careweave.web.middleware); client time is the wall time of the request on loopback. Goal: p95
server time under 200 ms with 20 concurrent users. Exits 2 when the database is missing or empty.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/careweave_bench"
GOAL_P95_MS = 200.0
BENCH_USER = "bench-gp"
BENCH_PASSWORD = "bench-workspace-password-not-secret"
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


def database_ready(url: str) -> str | None:
    """None when the database exists and holds people; otherwise why not."""
    if not url.startswith(("postgres://", "postgresql://")):
        return None  # SQLite and others: let Django report problems
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            found = conn.execute("select to_regclass('record_person') is not null").fetchone()
            if not found or not found[0]:
                return "it has no CareWeave tables (load it with bench/bench_import.py first)"
            count = conn.execute("select count(*) from record_person").fetchone()
            if not count or not count[0]:
                return "it has no people (load it with bench/bench_import.py first)"
    except psycopg.OperationalError as problem:
        first_line = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
        return f"cannot connect ({first_line})"
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def prepare() -> tuple[Any, list[int], int]:
    """A GP at the largest practice, and a sample of the people in their care."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from careweave.governance.access import people_in_care
    from careweave.governance.models import Role, StaffProfile
    from careweave.record.models import Person

    largest = (
        Person.objects.exclude(registered_practice=None)
        .values("registered_practice")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    if largest is None:
        raise SystemExit("no one is registered at a practice: nothing to benchmark")
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    user.set_password(BENCH_PASSWORD)
    user.is_active = True
    user.save()
    StaffProfile.objects.update_or_create(
        user=user,
        defaults={
            "role": Role.GP,
            "organisation_id": largest["registered_practice"],
            "failed_logins": 0,
            "locked_until": None,
        },
    )
    people = list(people_in_care(user).filter(deceased=False).values_list("pk", flat=True)[:20_000])
    return user, people, largest["n"]


def sign_in(base: str) -> Any:
    import requests

    session = requests.Session()
    session.get(f"{base}/login/", timeout=30).raise_for_status()
    token = session.cookies.get("csrftoken", "")
    response = session.post(
        f"{base}/login/",
        data={"username": BENCH_USER, "password": BENCH_PASSWORD, "csrfmiddlewaretoken": token, "next": ""},
        headers={"Referer": f"{base}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed with HTTP {response.status_code}")
    return session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--clients", type=int, default=20, help="concurrent users")
    parser.add_argument(
        "--requests", type=int, default=50, help="requests per user (half summaries, half worklists)"
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="waitress worker threads (as `careweave serve`)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    problem = database_ready(args.database_url)
    if problem:
        print(f"The benchmark database {args.database_url} is not ready: {problem}.", file=sys.stderr)
        return 2

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not what production does
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careweave.config.settings")
    sys.path.insert(0, str(ROOT / "src"))
    from careweave.cli import setup_django

    setup_django()  # applies any migrations the database lacks (e.g. huddles)
    from careweave.segmentation.services import current_run
    from careweave.web.summary import worklist_titles

    _user, people, practice_size = prepare()
    if not people:
        print("The GP at the largest practice has no one in their care.", file=sys.stderr)
        return 2
    run = current_run()
    list_ids = list(worklist_titles())
    # The server is `careweave serve` in its own process, as deployed: load clients in the same
    # interpreter would compete with it for the GIL and inflate its server times.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "careweave.cli", "serve", "--port", str(port), "--threads", str(args.threads)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server)
        return measure(args, base, people, practice_size, run, list_ids)
    finally:
        server.terminate()
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(base: str, server: subprocess.Popen[bytes]) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"careweave serve exited with {server.returncode}")
        try:
            requests.get(f"{base}/login/", timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # still starting (migrations, a busy machine)
            time.sleep(0.2)
    raise SystemExit("careweave serve did not start within 60 s")


def measure(
    args: Any, base: str, people: list[int], practice_size: int, run: Any, list_ids: list[str]
) -> int:

    timings: dict[str, dict[str, list[float]]] = {
        "summary": {"server": [], "client": []},
        "worklist": {"server": [], "client": []},
        "today": {"server": [], "client": []},
    }
    lock = threading.Lock()
    failures: list[str] = []
    sessions = [sign_in(base) for _ in range(args.clients)]
    start_line = threading.Barrier(args.clients)

    def client(index: int) -> None:
        rng = random.Random(args.seed * 1000 + index)
        session = sessions[index]
        # Warm up this client's connection and the server's caches (not timed).
        session.get(f"{base}/people/{rng.choice(people)}/", timeout=60)
        start_line.wait()
        for i in range(args.requests):
            if i % 3 == 0:
                kind, url = "summary", f"{base}/people/{rng.choice(people)}/"
            elif i % 3 == 1:
                kind, url = "today", f"{base}/today/"
            else:
                choice = rng.choice([""] + list_ids)
                kind, url = "worklist", f"{base}/worklists/" + (f"?list={choice}" if choice else "")
            started = time.perf_counter()
            response = session.get(url, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            match = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
            with lock:
                if response.status_code != 200 or match is None:
                    failures.append(f"{kind} HTTP {response.status_code}")
                    continue
                timings[kind]["server"].append(float(match.group(1)))
                timings[kind]["client"].append(elapsed)

    began = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - began

    results: dict[str, Any] = {
        "database": re.sub(r"//[^@/]*@", "//", args.database_url),  # never print a password
        "people_in_gp_care_sampled": len(people),
        "largest_practice_registered": practice_size,
        "segmentation_run": run.version if run else None,
        "clients": args.clients,
        "requests_per_client": args.requests,
        "waitress_threads": args.threads,
        "wall_seconds": round(wall, 1),
        "throughput_per_second": round(sum(len(t["client"]) for t in timings.values()) / wall, 1),
        "failures": len(failures),
        "goal_p95_ms": GOAL_P95_MS,
        "pages": {},
    }
    for kind, series in timings.items():
        if not series["server"]:
            continue
        results["pages"][kind] = {
            "n": len(series["server"]),
            "server_median_ms": round(statistics.median(series["server"]), 1),
            "server_p95_ms": round(percentile(series["server"], 0.95), 1),
            "client_median_ms": round(statistics.median(series["client"]), 1),
            "client_p95_ms": round(percentile(series["client"], 0.95), 1),
            "meets_goal": percentile(series["server"], 0.95) < GOAL_P95_MS,
        }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"Workspace under {args.clients} concurrent users, {args.requests} requests each "
            f"({results['database']}; GP at a practice of {practice_size:,} people; "
            f"{results['throughput_per_second']} requests/s; {len(failures)} failures)"
        )
        print(
            f"{'page':<10} {'n':>5} {'server median':>14} {'server p95':>11} {'client median':>14} "
            f"{'client p95':>11}  goal p95 < {GOAL_P95_MS:.0f} ms"
        )
        for kind, r in results["pages"].items():
            print(
                f"{kind:<10} {r['n']:>5} {r['server_median_ms']:>11.1f} ms {r['server_p95_ms']:>8.1f} ms "
                f"{r['client_median_ms']:>11.1f} ms {r['client_p95_ms']:>8.1f} ms  "
                f"{'met' if r['meets_goal'] else 'NOT met'}"
            )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
