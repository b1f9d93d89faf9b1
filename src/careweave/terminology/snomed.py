"""The SNOMED CT hierarchy from the organisation's own RF2 release, as a transitive closure (ADR 0008).

``load_snomed(path)`` reads the Concept, Description and Relationship files of an RF2 release (the UK
Clinical Edition from TRUD, or any edition) with DuckDB, keeps the latest row of each component (a
Snapshot has one; a Full release has its history), keeps active rows, takes the is-a relationships
(typeId 116680003) between active concepts and computes every (descendant, ancestor) pair. The
result is Parquet under the terminology store, with a manifest naming the release. ``SnomedRelease``
answers "descendants of X" from it, for the ECL evaluator.

This module owns the load (the active components, the is-a edges, the fully specified names, the
Parquet files, the manifest) and the public API; finding and reading the RF2 files is ``rf2``, the
closure ``closure``. Django-free.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from .closure import closure_arrays, write_closure
from .rf2 import COLUMNS, Rf2File, check_header, read_table, select_files, unpacked
from .store import Progress, Store

IS_A = "116680003"
FULLY_SPECIFIED_NAME = "900000000000003001"

_STAGES = 6


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute(f"SET memory_limit = '{os.environ.get('CAREWEAVE_DUCKDB_MEMORY_LIMIT', '2GB')}'")
    threads = int(os.environ.get("CAREWEAVE_DUCKDB_THREADS", "0") or 0)
    if threads:
        connection.execute(f"SET threads = {threads}")
    connection.execute("SET preserve_insertion_order = false")
    connection.execute("SET temp_directory = ?", [str(work / "spill")])
    return connection


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
    with unpacked(Path(path)) as root:
        chosen = select_files(root)
        for files in chosen.values():
            for item in files:
                check_header(item)
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
            rows[kind] = read_table(connection, kind, chosen[kind])
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
        closure_rows, rounds = write_closure(connection, staging / "closure.parquet")
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
        found = (store or Store.at()).current_release("snomed")
        return None if found is None else cls(*found)

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


__all__ = [
    "COLUMNS",
    "FULLY_SPECIFIED_NAME",
    "IS_A",
    "Rf2File",
    "SnomedRelease",
    "closure_arrays",
    "load_snomed",
    "select_files",
]
