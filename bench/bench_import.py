"""Import throughput on SQLite and PostgreSQL, against parsing alone and validating alone.

    uv run python bench/bench_import.py [--people 10000] [--engines sqlite,postgres]

Prints resources per second for the Synthea bundles in ../shared/data and for NDJSON of N synthetic
people at each stage (parse only, validate only, end to end per engine) and each rate's ratio to
parse only, measured in the same run; and the overnight goal. Then, with the
PostgreSQL database left loaded, the API latency of Patient/$everything and a Condition search.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-r4"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "careweave_bench"
# The issue's goal: at ICB scale (1-3M people, hundreds of millions of resources) a nightly load
# must finish overnight: 300M resources in 8 hours is about 10,400 resources per second.
OVERNIGHT_GOAL = 300_000_000 / (8 * 3600)


def synth_dir(people: int) -> Path:
    from careweave.synth import generate

    out = OUT / f"synth-{people}"
    if not (out / "Patient.ndjson").exists():
        generate(people, 7, out)
    return out


def _resources(path: Path) -> list[bytes]:
    """The resources of a file as JSON text, one each (NDJSON lines, or a Bundle's entries)."""
    import orjson

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if ".ndjson" in path.name:
        return [line for line in raw.splitlines() if line.strip()]
    return [orjson.dumps(e["resource"]) for e in orjson.loads(raw).get("entry", [])]


def stages(paths: list[Path]) -> tuple[int, float, float, float]:
    """Parse only (orjson), the fhir.resources models alone (the validation before the R4 rules), and
    validate only (the importer's own validation: the models, then the R4 definitions, bindings and
    invariants, NHS numbers), on resources already parsed, in one process, no database:
    (resources, parse seconds, models seconds, validate seconds)."""
    import orjson
    from fhir.resources.R4B import get_fhir_model_class

    from careweave.fhir.importer import Entry, validate_entry

    texts = [text for path in paths for text in _resources(path)]
    started = time.perf_counter()
    parsed = [orjson.loads(text) for text in texts]
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    for resource in parsed:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    models_s = time.perf_counter() - started
    started = time.perf_counter()
    for resource in parsed:
        problems = validate_entry(Entry(index=None, resource=resource), None)
        assert not problems, problems[:1]
    return len(texts), parse_s, models_s, time.perf_counter() - started


def worker(engine: str, people: int, workers: int, datasets: list[str]) -> None:
    """Runs in a fresh process per database engine (Django settings are per process); `workers` is
    how many processes validate a Bulk Data set's lines (careweave.fhir.imports.parallel)."""
    if engine == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
            conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
    else:
        db = OUT / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    from careweave.cli import setup_django

    setup_django()
    from careweave.fhir.files import import_paths
    from careweave.fhir.importer import Importer
    from careweave.fhir.imports import parallel

    parallel.WORKERS = workers
    results = {}
    for label, paths in (("synthea", [SYNTHEA]), ("ndjson", [synth_dir(people)])):
        if label not in datasets:
            continue
        importer = Importer()
        started = time.perf_counter()
        import_paths(importer, paths)
        seconds = time.perf_counter() - started
        assert importer.summary.ok, importer.summary.errors[:3]
        results[label] = {"resources": importer.summary.total("created"), "seconds": seconds}
    print(json.dumps(results))


def api_latency(people: int, requests_each: int = 200) -> dict[str, dict[str, float]]:
    """Median and p95 over loopback against the loaded PostgreSQL database, 4 client threads."""
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
    from careweave.cli import setup_django

    setup_django()
    import random

    import requests
    from django.contrib.auth import get_user_model
    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server

    from careweave.governance.models import ApiToken, Role, StaffProfile
    from careweave.record.models import Person

    user, _ = get_user_model().objects.get_or_create(username="bench-integrator")
    StaffProfile.objects.update_or_create(user=user, defaults={"role": Role.INTEGRATOR})
    token = ApiToken.issue(user, "bench")
    ids = list(Person.objects.values_list("resource__logical_id", flat=True)[:5000])
    server = create_server(get_wsgi_application(), host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}/fhir"
    rng = random.Random(1)
    timings: dict[str, list[float]] = {"Patient/$everything": [], "Condition?patient=&code=": []}

    def hit(kind: str, url: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(requests_each // 4):
            target = url.format(id=rng.choice(ids))
            started = time.perf_counter()
            response = session.get(target, timeout=30)
            timings[kind].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:200]

    for kind, url in (
        ("Patient/$everything", base + "/Patient/{id}/$everything"),
        ("Condition?patient=&code=", base + "/Condition?patient={id}&code=http://snomed.info/sct|38341003"),
    ):
        threads = [threading.Thread(target=hit, args=(kind, url)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    server.close()
    return {
        k: {"median_ms": statistics.median(v), "p95_ms": statistics.quantiles(v, n=20)[18], "n": len(v)}
        for k, v in timings.items()
    }


def main() -> None:
    global PG_BENCH_DB
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--worker")
    parser.add_argument("--api-only", action="store_true")
    parser.add_argument("--no-api", action="store_true")
    parser.add_argument("--pg-db", default=PG_BENCH_DB, help="the PostgreSQL database to (re)create")
    parser.add_argument("--datasets", default="synthea,ndjson")
    parser.add_argument(
        "--workers", default=f"1,{min(4, os.cpu_count() or 1)}", help="validation processes to compare"
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careweave.config.settings")
    sys.path.insert(0, str(ROOT / "src"))
    OUT.mkdir(parents=True, exist_ok=True)
    PG_BENCH_DB = args.pg_db
    if args.worker:
        worker(args.worker, args.people, int(args.workers), args.datasets.split(","))
        return
    if not args.api_only:
        ndjson = synth_dir(args.people)
        synthea_files = sorted(SYNTHEA.glob("*.json.gz"))
        ndjson_files = sorted(ndjson.glob("*.ndjson"))
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{OUT / 'stages.sqlite3'}")
        import django

        django.setup()  # the importer's validation reads the terminology the app loads
        files = {"synthea": synthea_files, "ndjson": ndjson_files}
        measured = {label: stages(files[label]) for label in args.datasets.split(",")}
        print(f"Import throughput (resources/s); NDJSON = {args.people:,} synthetic people; 2 cores")
        print(
            f"{'dataset':10} {'stage':22} {'resources':>10} {'seconds':>8} {'res/s':>9} {'vs parse-only':>14}"
        )

        def row(label: str, stage: str, n: int, seconds: float) -> None:
            parse_rate = measured[label][0] / measured[label][1]
            rate = n / seconds
            print(f"{label:10} {stage:22} {n:>10,} {seconds:>8.1f} {rate:>9,.0f} {rate / parse_rate:>14.3f}")

        for label, (n, parse_s, models_s, validate_s) in measured.items():
            row(label, "parse-only", n, parse_s)
            row(label, "models-only (before)", n, models_s)
            row(label, "validate-only (R4)", n, validate_s)
        for engine in args.engines.split(","):
            for workers in args.workers.split(","):
                out = subprocess.run(
                    [
                        *(sys.executable, __file__, "--worker", engine, "--people", str(args.people)),
                        *("--workers", workers, "--datasets", args.datasets, "--pg-db", args.pg_db),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    print(f"{engine}: failed\n{out.stderr[-2000:]}")
                    continue
                result = json.loads(out.stdout.strip().splitlines()[-1])
                for label, figures in result.items():
                    stage = f"e2e {engine} {workers} proc"
                    row(label, stage, figures["resources"], figures["seconds"])
        print(f"goal: a nightly ICB load (~300M resources in 8 h) needs {OVERNIGHT_GOAL:,.0f} resources/s")
        print("goal (issue 11, item 3): 15,000 resources/s into PostgreSQL on 2 cores, full validation on")
    if "postgres" in args.engines and not args.no_api:
        print(
            f"\nAPI latency on PostgreSQL ({args.people:,} people + Synthea; 4 concurrent clients on loopback)"
        )
        for kind, figures in api_latency(args.people).items():
            print(
                f"  {kind:28} median {figures['median_ms']:7.1f} ms   p95 {figures['p95_ms']:7.1f} ms   (n={figures['n']})"
            )


if __name__ == "__main__":
    main()
