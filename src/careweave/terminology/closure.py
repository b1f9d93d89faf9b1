"""The transitive closure of the SNOMED CT is-a hierarchy: every (descendant, ancestor) pair, computed
level by level with numpy and written to Parquet sorted by ancestor. Django-free."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .store import ReleaseError


def _segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices ``starts[i] .. starts[i] + lengths[i]`` for every i, concatenated (no Python loop)."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a sort and a comparison: numpy's hash-based ``unique`` is several
    times slower on these sizes)."""
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def closure_arrays(child: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Every (descendant, ancestor) pair of the is-a graph ``child -> parent``, and the number of levels.

    Level by level from the top (Kahn's order): a concept's parents are all finished before it, so
    its ancestors are its parents and their ancestors, deduplicated by one sort per level. Ancestor
    lists are kept as segments of one array of dense int32 indices; each level gathers its parents'
    segments at once. Work and memory follow the size of the closure. Raises ``ReleaseError`` if
    the graph has a cycle."""
    nodes, dense = np.unique(np.concatenate([child, parent]), return_inverse=True)
    n = len(nodes)
    c = dense[: len(child)].astype(np.int64)
    p = dense[len(child) :].astype(np.int64)
    # edges grouped by child (to find a concept's parents) and by parent (to find its children)
    by_child = np.argsort(c, kind="stable")
    child_start = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=n))])
    by_parent = np.argsort(p, kind="stable")
    parent_start = np.concatenate([[0], np.cumsum(np.bincount(p, minlength=n))])
    waiting = np.bincount(c, minlength=n)  # parents not yet finished
    start = np.zeros(n, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    flat = np.empty(max(1024, 4 * len(child)), dtype=np.int32)
    used = 0
    frontier = np.flatnonzero(waiting == 0)
    finished = len(frontier)
    levels = 0
    while True:
        kid_edges = by_parent[
            _segments(parent_start[frontier], parent_start[frontier + 1] - parent_start[frontier])
        ]
        kids = c[kid_edges]
        waiting -= np.bincount(kids, minlength=n)
        frontier = _distinct(kids[waiting[kids] == 0])
        if not len(frontier):
            break
        levels += 1
        finished += len(frontier)
        edges = by_child[_segments(child_start[frontier], child_start[frontier + 1] - child_start[frontier])]
        owners, parents = c[edges], p[edges]
        inherited = _segments(start[parents], length[parents])
        key = _distinct(
            np.concatenate([owners * n + parents, np.repeat(owners, length[parents]) * n + flat[inherited]])
        )
        owner_of, ancestor = np.divmod(key, n)
        if used + len(key) > len(flat):
            grown = np.empty(max(2 * len(flat), used + len(key)), dtype=np.int32)
            grown[:used] = flat[:used]
            flat = grown
        flat[used : used + len(key)] = ancestor
        # key is sorted, so each owner's ancestors are one run
        first = np.flatnonzero(np.concatenate([[True], owner_of[1:] != owner_of[:-1]]))
        members = owner_of[first]
        start[members] = used + first
        length[members] = np.diff(np.append(first, len(key)))
        used += len(key)
    if finished < n:
        stuck = nodes[np.flatnonzero(waiting > 0)]
        raise ReleaseError(
            "sct2_Relationship", f"the is-a hierarchy has a cycle above concept {int(stuck.min())}"
        )
    # sorted by (ancestor, descendant): the order the Parquet file is written in
    # flat[:used] is every concept's segment back to back, in the order they were written
    present = np.flatnonzero(length > 0)
    owners = present[np.argsort(start[present], kind="stable")]
    key = flat[:used].astype(np.int64) * n + np.repeat(owners, length[owners])
    del flat
    key.sort()
    ancestor, descendant = np.divmod(key, n)
    del key
    return nodes[descendant], nodes[ancestor], levels


def write_closure(connection: duckdb.DuckDBPyConnection, target: Path) -> tuple[int, int]:
    """Compute the closure of table ``isa`` and write it to ``target``, sorted by ancestor (so that
    "descendants of X" reads one or two row groups). Returns (rows, levels)."""
    edges = connection.execute("SELECT child, parent FROM isa").fetchnumpy()
    descendant, ancestor, levels = closure_arrays(
        np.asarray(edges["child"], dtype=np.int64), np.asarray(edges["parent"], dtype=np.int64)
    )
    del edges
    table = pa.table({"descendant": descendant, "ancestor": ancestor})
    del descendant, ancestor
    pq.write_table(table, target, compression="zstd", row_group_size=100_000)
    return table.num_rows, levels
