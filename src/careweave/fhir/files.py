"""Reading FHIR files from disk: .json (a Bundle or one resource), .ndjson (Bulk Data), and their .gz."""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
from fhir.resources.R4B import get_fhir_model_class

from careweave.fhir import resource_types
from careweave.fhir.importer import Importer, refresh_planner_statistics
from careweave.fhir.outcome import Issue, Refused

logger = logging.getLogger(__name__)
SUFFIXES = (".json", ".ndjson", ".json.gz", ".ndjson.gz")
# Synthea writes the organisations and practitioners that patient bundles refer to in these files.
_FIRST_PREFIXES = {"hospitalInformation": 0, "practitionerInformation": 1}


def _is_fhir_type(name: str) -> bool:
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError):
        return False
    return True


def _type_hint(path: Path) -> str:
    stem = path.name.split(".")[0]
    return stem.replace("_", "-").split("-")[0]


def _sort_key(path: Path) -> tuple[int, int, str]:
    hint = _type_hint(path)
    for prefix, rank in _FIRST_PREFIXES.items():
        if path.name.startswith(prefix):
            return (0, rank, path.name)
    bundle_last = 1 if hint == "Bundle" else 0
    return (1 + bundle_last, resource_types.write_rank(hint), path.name)


def expand(paths: list[Path]) -> list[Path]:
    """Files to import, in an order where what is referred to comes first."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
        else:
            found.append(path)
    return sorted(dict.fromkeys(found), key=_sort_key)


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _lines(path: Path) -> Iterator[bytes]:
    with _open(path) as handle:
        yield from handle


def import_file(importer: Importer, path: Path) -> None:
    """Import one file as one unit (NDJSON: all-or-nothing for the file). Raises Refused."""
    name = str(path)
    if not path.exists():
        raise Refused([Issue("fatal", "not-found", "no such file", name)])
    if not path.name.endswith(SUFFIXES):
        raise Refused(
            [
                Issue(
                    "error", "not-supported", f"not a FHIR file (expected one of {', '.join(SUFFIXES)})", name
                )
            ]
        )
    try:
        if ".ndjson" in path.name:
            hint = path.name.split(".")[0]
            importer.import_ndjson_lines(
                _lines(path), name, expected_type=hint if _is_fhir_type(hint) else None
            )
            return
        with _open(path) as handle:
            raw = handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise Refused([Issue("fatal", "exception", f"cannot read the file: {error}", name)]) from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Refused([Issue("error", "structure", f"broken JSON: {error}", name)]) from None
    if not isinstance(document, dict):
        raise Refused(
            [Issue("error", "structure", "a FHIR JSON file holds one object (a resource or a Bundle)", name)]
        )
    if document.get("resourceType") == "Bundle":
        importer.import_bundle(document, name)
    else:
        importer.import_resource(document, name)


def import_paths(
    importer: Importer, paths: list[Path], progress: Callable[[Path], None] | None = None
) -> None:
    """Import every file; a refused file is reported and the others still go in."""
    files = expand(paths)
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        importer.summary.errors.append(Issue("fatal", "not-found", "no such file or folder", str(path)))
    for path in paths:
        if path.is_dir() and not any(f.is_relative_to(path) for f in files):
            importer.summary.errors.append(
                Issue(
                    "fatal", "not-found", f"no FHIR files ({', '.join(SUFFIXES)}) in this folder", str(path)
                )
            )
    for path in files:
        importer.summary.files += 1
        before = importer.checkpoint()
        try:
            import_file(importer, path)
        except Refused as refused:
            importer.rollback_to(before)  # nothing of a refused file was written, so count nothing
            importer.summary.units_refused += 1
            importer.summary.errors.extend(
                Issue(i.severity, i.code, i.message, i.file or str(path), i.entry, i.expression)
                for i in refused.issues
            )
        except Exception as error:  # an unexpected failure refuses this file, not the whole run
            importer.rollback_to(before)
            importer.summary.units_refused += 1
            importer.summary.errors.append(
                Issue("fatal", "exception", f"could not import: {type(error).__name__}", str(path))
            )
            logger.exception("import of one file failed (file index %d)", importer.summary.files)
        if progress:
            progress(path)
    refresh_planner_statistics()  # so the first queries after a bulk load are planned on real sizes
