"""Code lists an ICB already maintains on OpenCodelists, loaded from the CSV download (ADR 0008).

OpenCodelists offers each version of a list as CSV with a header row. New-style lists have ``code``
and ``term``; older ones name the code column after the coding system (``snomedcode``, ``id``), and
dm+d lists have ``dmd_type, dmd_id, dmd_name, bnf_code``. The code column is found from the header,
every code is checked as an SCTID (dm+d ids are SCTIDs too: length, partition identifier, Verhoeff
check digit), and the list is stored whole or not at all: one bad row refuses the file, naming the
line and the column. Loading a name again replaces that list. Django-free.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .models import DMD, SNOMED
from .sctid import concept_id_problem
from .store import ReleaseError, Store, write_json

CODE_COLUMNS = ("code", "snomedcode", "snomed_code", "conceptid", "concept_id", "snomed_id", "dmd_id", "id")
TERM_COLUMNS = ("term", "dmd_name", "description", "preferred_term", "snomed_term", "name")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
_MAX_REPORTED = 20

System = Literal["snomed", "dmd"]
SYSTEM_URIS: dict[str, str] = {"snomed": SNOMED, "dmd": DMD}


@dataclass(frozen=True)
class StoredCodelist:
    name: str
    system: System
    codes: frozenset[str]
    terms: dict[str, str]
    source_file: str
    sha256: str
    loaded_at: str

    @property
    def system_uri(self) -> str:
        return SYSTEM_URIS[self.system]


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ReleaseError(
            name, "a code list name is lower-case letters, digits, '-' and '_' (e.g. asthma-diagnosis)"
        )


def _path(store: Store, name: str) -> Path:
    return store.area("codelists") / f"{name}.json"


def read_opencodelists_csv(file: Path) -> tuple[System, dict[str, str], str, str | None]:
    """Parse and validate a download: (system, {code: term}, code column, term column)."""
    if not file.is_file():
        raise ReleaseError(file, "no such file")
    with file.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise ReleaseError(file, "the file is empty (expected a header row)", line=1) from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise ReleaseError(file, f"not a CSV file: {error}", line=1) from None
        names = [h.strip().lower() for h in header]
        code_column = next((c for c in CODE_COLUMNS if c in names), None)
        if code_column is None:
            raise ReleaseError(
                file,
                f"no code column in the header (looked for {', '.join(CODE_COLUMNS)}; found "
                f"{', '.join(repr(h) for h in header) or 'nothing'})",
                line=1,
            )
        term_column = next((c for c in TERM_COLUMNS if c in names), None)
        system: System = "dmd" if code_column == "dmd_id" or "dmd_type" in names else "snomed"
        code_at = names.index(code_column)
        term_at = names.index(term_column) if term_column else None
        codes: dict[str, str] = {}
        problems: list[ReleaseError] = []
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                line = reader.line_num
                if len(row) <= code_at:
                    problems.append(
                        ReleaseError(
                            file, "the row has no value here", line=line, field=f"column {code_column!r}"
                        )
                    )
                    continue
                code = row[code_at].strip()
                problem = concept_id_problem(code)
                if problem:
                    shown = code if len(code) <= 30 else code[:30] + "..."
                    problems.append(
                        ReleaseError(
                            file, f"{shown!r} is {problem}", line=line, field=f"column {code_column!r}"
                        )
                    )
                    continue
                term = row[term_at].strip() if term_at is not None and term_at < len(row) else ""
                codes.setdefault(code, term)
        except (csv.Error, UnicodeDecodeError) as error:
            raise ReleaseError(file, f"not readable as CSV: {error}", line=reader.line_num) from None
    if problems:
        first = problems[0]
        more = len(problems) - 1
        if more:
            first = ReleaseError(
                file,
                f"{first.message} (and {more} more bad row{'s' if more > 1 else ''}; nothing was loaded)",
                line=first.line,
                field=first.field,
            )
        raise first
    if not codes:
        raise ReleaseError(file, "the file has a header but no codes")
    return system, codes, code_column, term_column


def load_codelist(file: Path | str, name: str, *, store: Store | None = None) -> dict[str, Any]:
    """Validate an OpenCodelists CSV and store it as ``name`` (replacing any list of that name)."""
    store = store or Store.at()
    _check_name(name)
    file = Path(file)
    system, codes, code_column, term_column = read_opencodelists_csv(file)
    record = {
        "name": name,
        "system": system,
        "source_file": file.name,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        "code_column": code_column,
        "term_column": term_column,
        "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "codes": dict(sorted(codes.items())),
    }
    replaced = _path(store, name).exists()
    write_json(_path(store, name), record)
    return {
        "name": name,
        "system": system,
        "codes": len(codes),
        "code_column": code_column,
        "replaced": replaced,
        "sha256": record["sha256"],
    }


def stored_codelist(name: str, *, store: Store | None = None) -> StoredCodelist | None:
    """A list loaded with ``load-codelist``, or ``None`` if there is none of that name."""
    store = store or Store.at()
    _check_name(name)
    path = _path(store, name)
    if not path.exists():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    terms: dict[str, str] = record["codes"]
    return StoredCodelist(
        name=record["name"],
        system=record["system"],
        codes=frozenset(terms),
        terms=terms,
        source_file=record["source_file"],
        sha256=record["sha256"],
        loaded_at=record["loaded_at"],
    )


def stored_codelist_names(*, store: Store | None = None) -> tuple[str, ...]:
    store = store or Store.at()
    folder = store.area("codelists")
    return tuple(sorted(p.stem for p in folder.glob("*.json"))) if folder.is_dir() else ()
