"""Finding and reading the files of an SNOMED CT RF2 release: which ``sct2_*.txt`` files to read
(Snapshot, else Full; one release at a time), the zip unpacked, the header checked, and every row's
shape checked as DuckDB reads it, with the first bad row named by file, line and field.

RF2 file formats: SNOMED CT Release File Specifications, sections 4.2.1 (Concept), 4.2.2
(Description) and 4.2.3 (Relationship): UTF-8, tab-separated, a header row, CR LF line ends.
Django-free.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .store import ReleaseError

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


def check_header(item: Rf2File) -> None:
    """Refuse a file whose header row is not its kind's RF2 columns, in order (line 1 named)."""
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


_TEXT = {"effectiveTime", "active", "languageCode", "term"}


def read_table(connection: duckdb.DuckDBPyConnection, kind: str, files: list[Rf2File]) -> int:
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


@contextmanager
def unpacked(path: Path) -> Iterator[Path]:
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
