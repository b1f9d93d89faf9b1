"""Population segmentation pipeline, end to end: extract -> features -> register -> patterns -> worklists.

Run: ``.venv/bin/python bench/bench_segment.py [--people 100000 1000000] [--engine duckdb|spark|both]
[--spark-people 100000]``

A synthetic extract (about 8 condition, 10 medication, 15 encounter and 20 observation rows per
person, codes drawn from the reviewed terminology) is generated once per size into Parquet under
``/tmp/careweave-bench-extract-<N>`` (in a separate process, in chunks). Each engine and size then runs
in its own process so the peak memory belongs to that run alone; memory is the resident set of the
process and its children (Spark's JVM included), sampled every 20 ms. Stages:

1. extract load: open the Parquet directory and validate the schema;
2. features: all feature steps, fetched as Arrow (one row per person);
3. register and scores: the MLTC register evidence and one entry per person on it;
4. pattern counts: distinct patterns of the latent class indicators (conditions and social needs),
   then assignment of every person by joining the patterns' answer back (a stand-in assigner);
5. worklists: the reviewed rules over the features, with reasons in words.

Goal: 1M people end to end in under 60 s on DuckDB with under 4 GB of memory. Wall and CPU seconds
are both printed: on a shared machine CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

AS_OF = dt.date(2024, 3, 31)
CHUNK = 250_000
GOAL_SECONDS = 60.0
GOAL_BYTES = 4 * 1024**3


def extract_dir(people: int) -> Path:
    return Path(f"/tmp/careweave-bench-extract-{people}")


# ------------------------------------------------------------------------------------------------
# memory sampling (process tree RSS from /proc)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                out += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def tree_rss(root: int) -> int:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss(pid)
        stack += _children(pid)
    return total


class MemorySampler:
    def __init__(self) -> None:
        self.peak = 0
        self.stage_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            rss = tree_rss(pid)
            self.peak = max(self.peak, rss)
            self.stage_peak = max(self.stage_peak, rss)
            time.sleep(0.02)

    def reset_stage(self) -> None:
        self.stage_peak = tree_rss(os.getpid())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------------------------------------
# generation


def generate(people: int) -> None:
    import pyarrow.parquet as pq

    from careweave.population.features import FeatureKnowledge
    from careweave.population.synthetic_extract import generate_extract

    target = extract_dir(people)
    if (target / "COMPLETE").exists():
        return
    shutil.rmtree(target, ignore_errors=True)
    knowledge = FeatureKnowledge.from_terminology()
    started = time.perf_counter()
    for index, first in enumerate(range(0, people, CHUNK)):
        size = min(CHUNK, people - first)
        extract = generate_extract(knowledge, size, seed=index, as_of=AS_OF, first_person_id=first + 1)
        for name, table in extract.tables().items():
            (target / name).mkdir(parents=True, exist_ok=True)
            pq.write_table(table, target / name / f"part-{index:04d}.parquet", row_group_size=1 << 20)
        del extract
    rows = {}
    for name in ("person", "condition", "medication", "encounter", "observation", "social"):
        rows[name] = sum(pq.ParquetFile(f).metadata.num_rows for f in (target / name).iterdir())
    (target / "COMPLETE").write_text(json.dumps(rows))
    print(
        f"generated {people:,} people in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in rows.items()),
        file=sys.stderr,
    )


# ------------------------------------------------------------------------------------------------
# one run


def run_one(people: int, engine_name: str) -> dict[str, Any]:
    sampler = MemorySampler()
    stages: list[dict[str, Any]] = []

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        sampler.reset_stage()
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        stages.append(
            {
                "stage": name,
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "peak": sampler.stage_peak,
            }
        )

    import numpy as np
    import pyarrow as pa

    from careweave.population.engines import get_engine
    from careweave.population.extract_schema import Extract
    from careweave.population.features import FeatureKnowledge, FeatureSpecification
    from careweave.population.lca import fit_lca
    from careweave.population.register import register_entries
    from careweave.population.worklists import compute_worklists
    from careweave.terminology import load_worklist_rules

    knowledge = FeatureKnowledge.from_terminology()
    rules = load_worklist_rules()
    if engine_name == "spark":
        from careweave.population.engines.spark_engine import spark_session

        with stage("spark session start"):
            spark_session()
    if engine_name == "duckdb":
        os.environ.setdefault("CAREWEAVE_DUCKDB_MEMORY_LIMIT", "2GB")
    total_wall, total_cpu = time.perf_counter(), time.process_time()
    with get_engine(engine_name) as engine:  # type: ignore[arg-type]
        with stage("extract load"):
            extract = Extract.from_parquet_dir(extract_dir(people))
        spec = FeatureSpecification(knowledge, AS_OF)
        with stage("features"):
            engine.prepare(extract, spec)
            features = engine.fetch("features")
        with stage("register and scores"):
            register = engine.fetch("register")
            entries = register_entries(register)
            engine.release()
        indicators = [f"cond_{c.id}" for c in knowledge.conditions if c.cms_weight is not None]
        indicators += [n.id for n in knowledge.social_needs]

        with stage("pattern counts"):
            patterns = engine.pattern_counts(features, indicators)
        codes = np.column_stack(
            [patterns.column(c).to_numpy(zero_copy_only=False).astype(np.int64) for c in indicators]
        )
        counts = patterns.column("people").to_numpy().astype(np.int64)
        with stage("LCA fit (K=5)"):
            model = fit_lca(
                codes,
                counts,
                [2] * len(indicators),
                5,
                n_starts=5,
                seed=1,
                indicator_names=indicators,
                initial_iter=50,
                tol=1e-7,  # as the population pipeline (careweave.population.segment)
            )

        def assigner(distinct: pa.Table) -> pa.Table:
            """The fitted latent class model, applied once per distinct pattern."""
            cluster, _probability = model.assign(
                np.column_stack(
                    [distinct.column(c).to_numpy(zero_copy_only=False).astype(np.int64) for c in indicators]
                )
            )
            return distinct.append_column("cluster", pa.array(cluster.astype(np.int32), pa.int32()))

        with stage("assignment"):
            assigned = engine.assign(features, indicators, assigner)
        with stage("worklists"):
            worklists = compute_worklists(features, rules)
    total = {"wall": time.perf_counter() - total_wall, "cpu": time.process_time() - total_cpu}
    sampler.stop()
    return {
        "people": people,
        "engine": engine_name,
        "stages": stages,
        "total": total,
        "peak": sampler.peak,
        "counts": {
            "features": features.num_rows,
            "feature_columns": features.num_columns,
            "on_register": entries.num_rows,
            "register_rows": register.num_rows,
            "patterns": patterns.num_rows,
            "indicators": len(indicators),
            "assigned": assigned.num_rows,
            "worklist_entries": worklists.num_rows,
        },
    }


# ------------------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> None:
    sys.stdout.flush()
    gib = 1024**3
    print(f"\n{result['engine']} - {result['people']:,} people")
    print(f"  {'stage':<22}{'wall s':>9}{'cpu s':>9}{'peak GiB':>10}")
    for s in result["stages"]:
        print(f"  {s['stage']:<22}{s['wall']:>9.2f}{s['cpu']:>9.2f}{s['peak'] / gib:>10.2f}")
    total = result["total"]
    print(f"  {'end to end':<22}{total['wall']:>9.2f}{total['cpu']:>9.2f}{result['peak'] / gib:>10.2f}")
    c = result["counts"]
    print(
        f"  {c['features']:,} people x {c['feature_columns']} features; {c['on_register']:,} on the MLTC register "
        f"({c['register_rows']:,} evidence rows); {c['patterns']:,} distinct patterns of {c['indicators']} "
        f"indicators; {c['worklist_entries']:,} worklist entries"
    )
    if result["engine"] == "duckdb" and result["people"] >= 1_000_000:
        ok_time = total["wall"] < GOAL_SECONDS
        ok_mem = result["peak"] < GOAL_BYTES
        print(
            f"  goal (1M < {GOAL_SECONDS:.0f} s, < 4 GB): {total['wall']:.1f} s {'MET' if ok_time else 'MISSED'}, "
            f"{result['peak'] / gib:.2f} GiB {'MET' if ok_mem else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engine", choices=["duckdb", "spark", "both"], default="both")
    parser.add_argument(
        "--spark-people",
        type=int,
        nargs="+",
        default=[100_000],
        help="sizes to run on Spark (local[*]); default 100k",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate)
        return
    if args.one:
        engine = "spark" if args.engine == "spark" else "duckdb"
        print(json.dumps(run_one(args.one, engine)))
        return
    engines = ["duckdb", "spark"] if args.engine == "both" else [args.engine]
    for people in args.people:
        subprocess.run([sys.executable, __file__, "--generate", str(people)], check=True)
        for engine in engines:
            if engine == "spark" and people not in args.spark_people:
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(people), "--engine", engine],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            report(json.loads(done.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
