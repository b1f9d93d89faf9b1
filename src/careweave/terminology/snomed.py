"""The SNOMED CT hierarchy from the organisation's own RF2 release, as a transitive closure (ADR 0008).

``load_snomed(path)`` reads the Concept, Description and Relationship files of an RF2 release (the UK
Clinical Edition from TRUD, or any edition) with DuckDB, keeps the latest row of each component (a
Snapshot has one; a Full release has its history), keeps active rows, takes the is-a relationships
(typeId 116680003) between active concepts and computes every (descendant, ancestor) pair. The
result is Parquet under the terminology store, with a manifest naming the release. ``SnomedRelease``
answers "descendants of X" from it, for the ECL evaluator.

RF2 file formats: SNOMED CT Release File Specifications, sections 4.2.1 (Concept), 4.2.2
(Description) and 4.2.3 (Relationship): UTF-8, tab-separated, a header row, CR LF line ends.
Django-free.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .store import Progress, ReleaseError, Store

IS_A = "116680003"
FULLY_SPECIFIED_NAME = "900000000000003001"

COLUMNS: dict[str, tuple[str, ...]] = {
    "Concept": ("id", "effectiveTime", "active", "moduleId", "definitionStatusId"),
    "Description": (
        "id",
        "effectiveTime",
        "active",
        "moduleId",
        "conceptId",
        "languageCode",
        "typeId",
        "term",
        "caseSignificanceId",
    ),
    "Relationship": (
        "id",
        "effectiveTime",
        "active",
        "moduleId",
        "sourceId",
        "destinationId",
        "relationshipGroup",
        "typeId",
        "characteristicTypeId",
        "modifierId",
    ),
}

_SCTID = r"[1-9][0-9]{5,17}"
_RULES: dict[str, tuple[str, str]] = {
    "effectiveTime": (r"[0-9]{8}", "an effectiveTime (YYYYMMDD)"),
    "active": (r"[01]", "0 or 1"),
    "relationshipGroup": (r"[0-9]{1,9}", "a relationship group number"),
    "languageCode": (r"[a-z]{2}(-[A-Za-z0-9]+)*", "a language code"),
    "term": (r".+", "a term"),
}
_STAGES = 6

# sct2_Concept_UKCLSnapshot_GB1000000_20240925.txt, sct2_Description_Snapshot-en_INT_20240101.txt
_FILE_NAME = re.compile(
    r"^sct2_(?P<kind>Concept|Description|Relationship)_(?P<edition>[A-Za-z0-9]*?)"
    r"(?P<type>Snapshot|Full|Delta)(?:-[A-Za-z-]+)?_(?P<namespace>[A-Za-z0-9]+)_(?P<date>\d{8})\.txt$"
)


def _rule(column: str) -> tuple[str, str]:
    return _RULES.get(column, (_SCTID, "a SNOMED CT id"))


@dataclass(frozen=True)
class Rf2File:
    path: Path
    kind: str
    edition: str
    release_type: str
    namespace: str
    date: str


def _rf2_files(root: Path) -> list[Rf2File]:
    found: list[Rf2File] = []
    for path in sorted(root.rglob("sct2_*.txt")):
        match = _FILE_NAME.match(path.name)
        if match:
            found.append(
                Rf2File(
                    path,
                    match["kind"],
                    match["edition"],
                    match["type"],
                    match["namespace"],
                    match["date"],
                )
            )
    return found


def select_files(root: Path) -> dict[str, list[Rf2File]]:
    """The files to read for each kind: the Snapshot files where present, else the Full ones."""
    files = _rf2_files(root)
    chosen: dict[str, list[Rf2File]] = {}
    for kind in COLUMNS:
        of_kind = [f for f in files if f.kind == kind]
        snapshot = [f for f in of_kind if f.release_type == "Snapshot"]
        full = [f for f in of_kind if f.release_type == "Full"]
        picked = snapshot or full
        if not picked:
            if of_kind:
                raise ReleaseError(
                    of_kind[0].path,
                    "a Delta file holds only the changes since the last release; load a Snapshot "
                    "(or Full) release",
                )
            raise ReleaseError(
                root,
                f"no sct2_{kind}_*Snapshot*.txt or sct2_{kind}_*Full*.txt file here (is this an "
                "RF2 release folder or zip?)",
            )
        dates: dict[tuple[str, str], set[str]] = {}
        for item in picked:
            dates.setdefault((item.edition, item.namespace), set()).add(item.date)
        for (edition, namespace), seen in dates.items():
            if len(seen) > 1:
                raise ReleaseError(
                    root,
                    f"two releases of the same edition ({edition or 'International'} {namespace}: "
                    f"{', '.join(sorted(seen))}); load one release at a time",
                )
        chosen[kind] = picked
    return chosen


def _check_header(item: Rf2File) -> None:
    expected = COLUMNS[item.kind]
    with item.path.open("r", encoding="utf-8", newline="") as handle:
        first = handle.readline().rstrip("\r\n").lstrip("\ufeff")
    names = first.split("\t")
    for index, name in enumerate(expected):
        if index >= len(names) or names[index] != name:
            got = names[index] if index < len(names) else "nothing"
            raise ReleaseError(
                item.path,
                f"expected the RF2 {item.kind} header column {name!r} here, found {got!r}",
                line=1,
                field=f"column {index + 1}",
            )
    if len(names) > len(expected):
        raise ReleaseError(
            item.path,
            f"unexpected extra header column {names[len(expected)]!r}",
            line=1,
            field=f"column {len(expected) + 1}",
        )


def _first_bad_row(item: Rf2File) -> ReleaseError | None:
    """Scan a file in Python for the first row that breaks the format: the slow path, run only when
    DuckDB's checks found a problem, to name the line and field."""
    columns = COLUMNS[item.kind]
    patterns = [(column, re.compile(_rule(column)[0]), _rule(column)[1]) for column in columns]
    with item.path.open("r", encoding="utf-8", newline="") as handle:
        handle.readline()
        for number, raw in enumerate(handle, start=2):
            line = raw.rstrip("\r\n")
            if not line:
                continue
            values = line.split("\t")
            if len(values) != len(columns):
                return ReleaseError(
                    item.path, f"{len(values)} tab-separated fields, expected {len(columns)}", line=number
                )
            for value, (column, pattern, meaning) in zip(values, patterns, strict=True):
                if not pattern.fullmatch(value):
                    shown = value if len(value) <= 30 else value[:30] + "..."
                    return ReleaseError(item.path, f"{shown!r} is not {meaning}", line=number, field=column)
    return None


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute(f"SET memory_limit = '{os.environ.get('CAREWEAVE_DUCKDB_MEMORY_LIMIT', '2GB')}'")
    threads = int(os.environ.get("CAREWEAVE_DUCKDB_THREADS", "0") or 0)
    if threads:
        connection.execute(f"SET threads = {threads}")
    connection.execute("SET preserve_insertion_order = false")
    connection.execute("SET temp_directory = ?", [str(work / "spill")])
    return connection


_TEXT = {"effectiveTime", "active", "languageCode", "term"}


def _read(connection: duckdb.DuckDBPyConnection, kind: str, files: list[Rf2File]) -> int:
    """Load one kind's files into table ``raw_<kind>``, ids as BIGINT, checking every value's shape.

    The typed parse is the check for the id columns (a value that is not a number stops it), and one
    cheap query checks the rest; only when either finds a problem is the file scanned again in Python
    to name the line and field."""
    columns = COLUMNS[kind]
    types = {
        c: "VARCHAR" if c in _TEXT else ("INTEGER" if c == "relationshipGroup" else "BIGINT") for c in columns
    }
    spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in types.items()) + "}"
    table = f"raw_{kind.lower()}"
    paths = [str(f.path) for f in files]
    try:
        connection.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, delim='\t', header=true, quote='', "
            f"escape='', columns={spec}, auto_detect=false, strict_mode=true, null_padding=false)",
            [paths],
        )
    except duckdb.Error as error:
        for item in files:
            problem = _first_bad_row(item)
            if problem:
                raise problem from None
        raise ReleaseError(files[0].path, f"could not be read as RF2: {error}") from None
    checks = ["NOT regexp_full_match(effectiveTime, '[0-9]{8}')", "active NOT IN ('0', '1')"]
    for column, kind_of in types.items():
        checks.append(f"{column} IS NULL")
        if kind_of == "BIGINT":
            checks.append(f"{column} < 100000")
        elif kind_of == "INTEGER":
            checks.append(f"{column} < 0")
    (bad,) = connection.execute(f"SELECT count(*) FROM {table} WHERE {' OR '.join(checks)}").fetchone() or (
        0,
    )
    if bad:
        for item in files:
            problem = _first_bad_row(item)
            if problem:
                raise problem
        raise ReleaseError(files[0].path, f"{bad} rows break the RF2 format")
    (rows,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    return int(rows)


def _latest(table: str, columns: str, where: str, *, full: bool) -> str:
    """The latest row of each component id (a Full release keeps every version), then ``where``.

    A Snapshot holds exactly one row per component (RF2 specification, 3.1.3), so it is read as it is.

    Hash aggregation and a join rather than a window: no sort of the whole file. Equal ids at the
    same effectiveTime would both survive; a release never has them (the id and effectiveTime are
    its key), and the callers deduplicate what they keep."""
    if not full:
        return f"SELECT {columns} FROM {table} WHERE {where}"
    return (
        f"SELECT {columns} FROM {table} r SEMI JOIN "
        f"(SELECT id, max(effectiveTime) AS latest FROM {table} GROUP BY id) l "
        f"ON l.id = r.id AND l.latest = r.effectiveTime WHERE {where}"
    )


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


def _closure(connection: duckdb.DuckDBPyConnection, target: Path) -> tuple[int, int]:
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


@contextmanager
def _unpacked(path: Path) -> Iterator[Path]:
    """A folder holding the release: ``path`` itself, or the RF2 files of a zip extracted to a temp dir."""
    if path.is_dir():
        yield path
        return
    if not path.exists():
        raise ReleaseError(path, "no such file or folder")
    if not zipfile.is_zipfile(path):
        raise ReleaseError(path, "expected an RF2 release folder or its .zip")
    with tempfile.TemporaryDirectory(prefix="careweave-rf2-") as tmp, zipfile.ZipFile(path) as archive:
        for index, member in enumerate(archive.infolist()):
            name = Path(member.filename).name
            if _FILE_NAME.match(name):
                # one folder per member: International and UK files may share a name
                target = Path(tmp) / str(index) / name
                target.parent.mkdir()
                with archive.open(member) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
        yield Path(tmp)


def _release_id(files: list[Rf2File]) -> str:
    parts = sorted({f"{f.namespace}_{f.date}" for f in files})
    return "+".join(parts)


def load_snomed(
    path: Path | str, *, store: Store | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Load an RF2 release into the store and make it current. Returns its manifest.

    Raises ``ReleaseError`` (naming file, line and field) for a bad release; nothing is written then.
    """
    store = store or Store.at()
    started = time.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)
    with _unpacked(Path(path)) as root:
        chosen = select_files(root)
        for files in chosen.values():
            for item in files:
                _check_header(item)
        staging = store.staging_dir("snomed")
        try:
            manifest = _build(chosen, staging, report)
            manifest["seconds"] = round(time.perf_counter() - started, 2)
            store.publish("snomed", staging, manifest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return manifest


def _build(chosen: dict[str, list[Rf2File]], staging: Path, report: Progress) -> dict[str, Any]:
    connection = _connect(staging)
    try:
        rows: dict[str, int] = {}
        is_full = {kind: files[0].release_type == "Full" for kind, files in chosen.items()}
        for step, kind in enumerate(("Concept", "Relationship", "Description"), start=1):
            report(f"Reading {kind} files", step - 1, _STAGES)
            rows[kind] = _read(connection, kind, chosen[kind])
        report("Selecting active components", 3, _STAGES)
        connection.execute(
            "CREATE TABLE concept AS "
            + _latest(
                "raw_concept",
                "id, effectiveTime AS effective_time, moduleId AS module_id",
                "active = '1'",
                full=is_full["Concept"],
            )
        )
        connection.execute("DROP TABLE raw_concept")
        connection.execute(
            "CREATE TABLE isa_all AS "
            + _latest(
                "raw_relationship",
                "sourceId AS child, destinationId AS parent",
                f"active = '1' AND typeId = {IS_A}",
                full=is_full["Relationship"],
            )
        )
        connection.execute("DROP TABLE raw_relationship")
        # An active is-a row always joins active concepts in a consistent release; rows that do not
        # (a mixed or partial release) are counted in the manifest rather than silently kept.
        connection.execute(
            "CREATE TABLE isa AS SELECT DISTINCT a.child, a.parent FROM isa_all a "
            "SEMI JOIN concept c ON c.id = a.child SEMI JOIN concept p ON p.id = a.parent"
        )
        (isa_active,) = connection.execute("SELECT count(*) FROM isa_all").fetchone() or (0,)
        (isa_kept,) = connection.execute("SELECT count(*) FROM isa").fetchone() or (0,)
        connection.execute("DROP TABLE isa_all")
        connection.execute(
            "CREATE TABLE fsn AS SELECT conceptId AS id, min(term) AS term FROM ("
            + _latest(
                "raw_description",
                "conceptId, term",
                f"active = '1' AND typeId = {FULLY_SPECIFIED_NAME}",
                full=is_full["Description"],
            )
            + ") GROUP BY 1"
        )
        connection.execute("DROP TABLE raw_description")
        report("Computing the transitive closure", 4, _STAGES)
        closure_rows, rounds = _closure(connection, staging / "closure.parquet")
        report("Writing Parquet", 5, _STAGES)
        connection.execute(
            "COPY (SELECT c.id, f.term, c.module_id, c.effective_time FROM concept c "
            "LEFT JOIN fsn f USING (id) ORDER BY c.id) TO ? (FORMAT parquet, COMPRESSION zstd)",
            [str(staging / "concepts.parquet")],
        )
        connection.execute(
            "COPY (SELECT * FROM isa ORDER BY parent, child) TO ? (FORMAT parquet, COMPRESSION zstd)",
            [str(staging / "isa.parquet")],
        )
        (concepts,) = connection.execute("SELECT count(*) FROM concept").fetchone() or (0,)
        (terms,) = connection.execute("SELECT count(*) FROM fsn").fetchone() or (0,)
        effective = connection.execute("SELECT max(effective_time) FROM concept").fetchone()
        modules = [
            str(m)
            for (m,) in connection.execute("SELECT DISTINCT module_id FROM concept ORDER BY 1").fetchall()
        ]
    finally:
        connection.close()
    shutil.rmtree(staging / "spill", ignore_errors=True)
    all_files = [f for files in chosen.values() for f in files]
    report("Done", _STAGES, _STAGES)
    return {
        "release_id": _release_id(chosen["Concept"]),
        "release_type": sorted({f.release_type for f in all_files}),
        "effective_time": effective[0] if effective else None,
        "modules": modules,
        "files": sorted(f.path.name for f in all_files),
        "files_digest": _digest(all_files),
        "rows_read": rows,
        "counts": {
            "active_concepts": int(concepts),
            "concepts_with_fsn": int(terms),
            "active_isa_relationships": int(isa_active),
            "isa_edges": int(isa_kept),
            "isa_dropped_inactive_concept": int(isa_active) - int(isa_kept),
            "closure_rows": closure_rows,
            "closure_levels": rounds,
        },
        "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _digest(files: Iterable[Rf2File]) -> str:
    digest = hashlib.sha256()
    for item in sorted(files, key=lambda f: f.path.name):
        digest.update(f"{item.path.name}\t{item.path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


class SnomedRelease:
    """Queries on a loaded release: descendants of a concept, whether concepts are active in it."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        self.directory = directory
        self.manifest = manifest
        self.release_id: str = manifest["release_id"]
        self._connection: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def current(cls, store: Store | None = None) -> SnomedRelease | None:
        """The release in use, or ``None`` when none has been loaded (the bundled lists apply)."""
        store = store or Store.at()
        manifest = store.current("snomed")
        if manifest is None:
            return None
        return cls(store.release_dir("snomed", manifest["release_id"]), manifest)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            connection = duckdb.connect(":memory:")
            connection.execute("SET threads = 1")
            for name in ("closure", "concepts", "isa"):
                file = str(self.directory / f"{name}.parquet").replace("'", "''")
                connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{file}')")
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def descendants(self, concept: str) -> frozenset[str]:
        """Every concept below ``concept`` (not itself)."""
        rows = self.connection.execute(
            "SELECT descendant FROM closure WHERE ancestor = ?", [int(concept)]
        ).fetchall()
        return frozenset(str(row[0]) for row in rows)

    def active(self, concepts: Iterable[str]) -> frozenset[str]:
        """Those of ``concepts`` that are active concepts in this release."""
        wanted = sorted({int(c) for c in concepts})
        if not wanted:
            return frozenset()
        rows = self.connection.execute(
            "SELECT id FROM concepts WHERE list_contains(?, id)", [wanted]
        ).fetchall()
        return frozenset(str(row[0]) for row in rows)

    def term(self, concept: str) -> str | None:
        row = self.connection.execute("SELECT term FROM concepts WHERE id = ?", [int(concept)]).fetchone()
        return None if row is None else (row[0] or None)
