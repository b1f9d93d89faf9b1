"""Benchmark `careweave terminology load-snomed` on a release the size of the UK Clinical Edition.

    python bench/bench_terminology.py [--concepts 700000] [--isa 1600000] [--seed 1]

Builds a synthetic RF2 Snapshot in a temporary folder (Concept, Description and Relationship files in
the real format: active and inactive rows, attribute relationships beside the is-a ones, a DAG of
depth ~14 in which most concepts have several parents near their first one, as in SNOMED CT), then
times the load against the goal (a full UK release, about 1.6M is-a relationships, in under 2
minutes) and, in the same run, two baselines:

- the floor: DuckDB reading the three files and nothing else;
- a naive closure: breadth-first search up from every concept in Python on a tenth of the release,
  scaled by ten (what a hand-rolled loader would do).

Prints figures and peak memory; asserts nothing (timings belong in benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from careweave.terminology import sctid
from careweave.terminology.snomed import COLUMNS, IS_A, load_snomed
from careweave.terminology.store import Store

GOAL_SECONDS = 120.0
DEPTH = 14
MODULE = "999000011000000103"  # UK clinical extension module id
FSN, SYNONYM = "900000000000003001", "900000000000013009"
PRIMITIVE, INFERRED, EXISTENTIAL = "900000000000074008", "900000000000011006", "900000000000451002"
FINDING_SITE = "363698007"


def _ids(items: np.ndarray, partition: str) -> list[str]:
    """Valid short-form SCTIDs for item numbers (Verhoeff check digit and all), vectorised."""
    d, p, inv = np.array(sctid._D), np.array(sctid._P), np.array(sctid._INV)
    body = items.astype(np.int64) * 100 + int(partition)
    check = np.zeros(len(body), dtype=np.int64)
    rest = body.copy()
    position = 1  # the check digit will take position 0
    while (rest > 0).any():
        check = np.where(rest > 0, d[check, p[position % 8, rest % 10]], check)
        rest //= 10
        position += 1
    ids = body * 10 + inv[check]
    assert sctid.verhoeff_valid(str(ids[0])) and sctid.verhoeff_valid(str(ids[-1]))
    return ids.astype(str).tolist()


def synthetic_dag(concepts: int, isa: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(child, parent) index pairs of a rooted DAG: levels growing towards the leaves, a first parent
    on the level above and the other parents near it (siblings share parents, as in SNOMED CT)."""
    rng = np.random.default_rng(seed)
    # concepts per level: most at depth 6-10, as in SNOMED CT, tailing off to DEPTH
    weights = np.exp(-(((np.arange(1, DEPTH + 1) - 8) / 2.5) ** 2) / 2) + 0.002
    sizes = np.maximum(1, (weights / weights.sum() * (concepts - 1)).astype(np.int64))
    sizes[-1] += concepts - 1 - sizes.sum()
    starts = np.concatenate([[1], 1 + np.cumsum(sizes)[:-1]])
    children, parents = [], []
    previous = np.array([0])
    for size, start in zip(sizes, starts, strict=True):
        level = np.arange(start, start + size)
        first = np.sort(rng.choice(previous, size=size))  # sorted: siblings sit together
        children.append(level)
        parents.append(first)
        previous = level
    child = np.concatenate(children)
    first_parent = np.concatenate(parents)
    # Other parents: a concept just before the first parent, on its level (usually its sibling), so
    # that a second parent adds a few ancestors, not a second lineage: SNOMED CT's poly-hierarchy is
    # local. Drawn with room to spare, then cut to the number asked for after removing duplicates.
    wanted = isa - len(child)
    who = rng.choice(child[child > starts[1]], size=int(wanted * 1.6))
    other = first_parent[who - 1] - rng.integers(1, 3, size=len(who))
    keep = (other >= starts[np.searchsorted(starts, first_parent[who - 1], side="right") - 1]) & (
        other != first_parent[who - 1]
    )
    extra = np.unique(np.stack([who[keep], other[keep]], axis=1), axis=0)
    extra = extra[rng.permutation(len(extra))[:wanted]]
    pairs = np.concatenate([np.stack([child, first_parent], axis=1), extra])
    pairs = np.unique(pairs, axis=0)
    return pairs[:, 0], pairs[:, 1]


def write_release(folder: Path, concepts: int, isa: int, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed + 1)
    child, parent = synthetic_dag(concepts, isa, seed)
    inactive_concepts = concepts // 20
    concept_ids = _ids(np.arange(100_000, 100_000 + concepts + inactive_concepts), "00")
    attributes = len(child) // 4
    inactive_isa = len(child) // 10
    relationship_ids = _ids(np.arange(200_000, 200_000 + len(child) + attributes + inactive_isa), "02")
    description_ids = _ids(np.arange(300_000, 300_000 + 2 * (concepts + inactive_concepts)), "01")
    connection = duckdb.connect()
    connection.register("c", pa.table({"id": concept_ids, "i": np.arange(1, len(concept_ids) + 1)}))
    tab = "(FORMAT csv, DELIMITER '\t', HEADER true, QUOTE '')"
    connection.execute(
        f"COPY (SELECT id, '20240925' AS effectiveTime, CASE WHEN i <= {concepts} THEN '1' ELSE '0' END AS active, "
        f"'{MODULE}' AS moduleId, '{PRIMITIVE}' AS definitionStatusId FROM c ORDER BY i) TO ? {tab}",
        [str(folder / "sct2_Concept_UKCLSnapshot_GB1000000_20240925.txt")],
    )
    connection.register("d", pa.table({"id": description_ids, "j": np.arange(1, len(description_ids) + 1)}))
    connection.execute(
        f"COPY (SELECT d.id, '20240925' AS effectiveTime, '1' AS active, '{MODULE}' AS moduleId, c.id AS conceptId, "
        f"'en' AS languageCode, CASE WHEN j % 2 = 1 THEN '{FSN}' ELSE '{SYNONYM}' END AS typeId, "
        f"'Synthetic concept ' || c.i || CASE WHEN j % 2 = 1 THEN ' (finding)' ELSE '' END AS term, "
        f"'900000000000448009' AS caseSignificanceId FROM d JOIN c ON c.i = (d.j + 1) // 2) TO ? {tab}",
        [str(folder / "sct2_Description_UKCLSnapshot-en_GB1000000_20240925.txt")],
    )
    n = len(child)
    source = np.concatenate(
        [child, rng.integers(1, concepts, attributes), rng.integers(1, concepts, inactive_isa)]
    )
    destination = np.concatenate(
        [parent, rng.integers(1, concepts, attributes), rng.integers(1, concepts, inactive_isa)]
    )
    kind = np.concatenate([np.zeros(n), np.ones(attributes), np.full(inactive_isa, 2)]).astype(np.int8)
    connection.register(
        "r", pa.table({"id": relationship_ids, "s": source + 1, "t": destination + 1, "k": kind})
    )
    connection.execute(
        f"COPY (SELECT r.id, CASE WHEN k = 2 THEN '20230101' ELSE '20240925' END AS effectiveTime, "
        f"CASE WHEN k = 2 THEN '0' ELSE '1' END AS active, '{MODULE}' AS moduleId, "
        f"cs.id AS sourceId, cd.id AS destinationId, CASE WHEN k = 1 THEN '1' ELSE '0' END AS relationshipGroup, "
        f"CASE WHEN k = 1 THEN '{FINDING_SITE}' ELSE '{IS_A}' END AS typeId, '{INFERRED}' AS characteristicTypeId, "
        f"'{EXISTENTIAL}' AS modifierId FROM r JOIN c cs ON cs.i = r.s JOIN c cd ON cd.i = r.t) TO ? {tab}",
        [str(folder / "sct2_Relationship_UKCLSnapshot_GB1000000_20240925.txt")],
    )
    connection.close()
    return n, len(relationship_ids)


def parse_floor(folder: Path) -> float:
    started = time.perf_counter()
    connection = duckdb.connect()
    for kind, columns in COLUMNS.items():
        spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
        connection.execute(
            f"SELECT count(*) FROM read_csv(?, delim='\t', header=true, quote='', escape='', columns={spec}, auto_detect=false)",
            [str(next(folder.glob(f"sct2_{kind}_*.txt")))],
        ).fetchall()
    connection.close()
    return time.perf_counter() - started


def naive_closure(child: np.ndarray, parent: np.ndarray) -> tuple[float, int]:
    """Breadth-first search up from every concept: the loader one would write without thinking."""
    started = time.perf_counter()
    parents: dict[int, list[int]] = {}
    for c, p in zip(child.tolist(), parent.tolist(), strict=True):
        parents.setdefault(c, []).append(p)
    rows = 0
    for start in parents:
        seen: set[int] = set()
        queue = deque(parents[start])
        while queue:
            node = queue.popleft()
            if node not in seen:
                seen.add(node)
                queue.extend(parents.get(node, ()))
        rows += len(seen)
    return time.perf_counter() - started, rows


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concepts", type=int, default=700_000)
    parser.add_argument("--isa", type=int, default=1_600_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="careweave-rf2-bench-") as tmp:
        release = Path(tmp) / "release"
        release.mkdir()
        started = time.perf_counter()
        isa, relationships = write_release(release, args.concepts, args.isa, args.seed)
        size = sum(p.stat().st_size for p in release.iterdir())
        print(
            f"synthetic release     {args.concepts:,} concepts, {isa:,} active is-a of {relationships:,} relationship rows, "
            f"{size / 2**20:,.0f} MiB (written in {time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        floor = parse_floor(release)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        def progress(stage: str, done: int, total: int) -> None:
            print(
                f"  [{done}/{total}] {stage} (+{time.perf_counter() - started_load:.1f} s)",
                file=sys.stderr,
                flush=True,
            )

        cpu_before = _cpu()
        started_load = time.perf_counter()
        manifest = load_snomed(release, store=Store(Path(tmp) / "store"), progress=progress)
        seconds = time.perf_counter() - started_load
        cpu = _cpu() - cpu_before
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        counts = manifest["counts"]
        print(
            f"closure               {counts['closure_rows']:,} rows ({counts['closure_rows'] / counts['active_concepts']:.1f} "
            f"ancestors per concept) in {counts['closure_levels']} levels"
        )
        print(
            f"load-snomed           {seconds:,.1f} s   goal < {GOAL_SECONDS:.0f} s   {'MET' if seconds < GOAL_SECONDS else 'MISSED'}"
            f"   (CPU {cpu:,.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        print(f"  baseline: parse only {floor:,.1f} s   (reading the three files with DuckDB, no closure)")
        child, parent = synthetic_dag(args.concepts // 10, args.isa // 10, args.seed)
        naive, naive_rows = naive_closure(child, parent)
        print(
            f"  baseline: naive BFS  {naive * 10:,.1f} s scaled   ({naive:.1f} s for a tenth: {len(child):,} is-a, "
            f"{naive_rows:,} closure rows; the full release costs at least ten times that)"
        )
        print(
            f"peak RSS              {peak:,.0f} MiB during the load (before it: {rss_before:,.0f} MiB; "
            f"DuckDB memory_limit {'CAREWEAVE_DUCKDB_MEMORY_LIMIT or 2GB'})"
        )


if __name__ == "__main__":
    main()
