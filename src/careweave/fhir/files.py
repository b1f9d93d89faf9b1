"""Reading FHIR files from disk: .json (a Bundle or one resource), .ndjson (Bulk Data), and their .gz."""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import orjson
from fhir.resources.R4B import get_fhir_model_class

from careweave.fhir import resource_types
from careweave.fhir.importer import Importer, refresh_planner_statistics
from careweave.fhir.imports.bulk import RETRIES, BulkLoad, SetFile
from careweave.fhir.imports.writer import WrittenMeanwhile
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
            continue
        try:
            listed = read_manifest(path)  # a Bulk Data manifest stands for the files it lists
        except Refused:
            listed = None
        found.extend([p for p, _ in listed] if listed is not None else [path])
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


def read_manifest(path: Path) -> list[tuple[Path, str | None]] | None:
    """The files of a Bulk Data `$export` manifest (`output: [{type, url}]`, url a path on this disk,
    relative to the manifest, or a file:// URL), or None when the file is not a manifest."""
    if path.is_dir() or not path.name.endswith(".json") or not path.is_file():
        return None
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None  # reported when it is imported as a FHIR file
    if not isinstance(document, dict) or "resourceType" in document or "output" not in document:
        return None
    name = str(path)
    output = document["output"]
    if not isinstance(output, list):
        raise Refused(
            [Issue("error", "structure", "a manifest's output must be a list", name, None, "output")]
        )
    found: list[tuple[Path, str | None]] = []
    for i, item in enumerate(output):
        url = item.get("url") if isinstance(item, dict) else None
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url:
            raise Refused(
                [Issue("error", "required", "each output needs a url", name, None, f"output[{i}].url")]
            )
        parsed = urlparse(url)
        if parsed.scheme not in ("", "file"):
            message = f"only files on this server's disk can be imported, not {parsed.scheme} URLs"
            raise Refused([Issue("error", "not-supported", message, name, None, f"output[{i}].url")])
        local = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(url)
        found.append(
            (local if local.is_absolute() else path.parent / local, kind if isinstance(kind, str) else None)
        )
    return found


def _with_manifests(importer: Importer, paths: list[Path]) -> tuple[list[Path], dict[Path, str | None]]:
    """The paths with each manifest replaced by its files, and the type a manifest gives each file."""
    plain: list[Path] = []
    typed: dict[Path, str | None] = {}
    for path in paths:
        try:
            listed = read_manifest(path)
        except Refused as refused:
            importer.summary.errors.extend(refused.issues)
            importer.summary.units_refused += 1
            continue
        if listed is None:
            plain.append(path)
        else:
            typed.update(listed)
            plain.extend(p for p, _ in listed)
    return plain, typed


def _set_file(path: Path, manifest_type: str | None) -> SetFile:
    hint = manifest_type or path.name.split(".")[0]
    return SetFile(str(path), hint if _is_fhir_type(hint) else None, lambda: _lines(path))


def import_paths(
    importer: Importer,
    paths: list[Path],
    progress: Callable[[Path], None] | None = None,
    *,
    batch_size: int = 2000,
) -> None:
    """Import every file. The NDJSON files (Bulk Data) are one set, loaded whole or refused whole
    (ADR 0016); each other file is a unit of its own: a refused file is reported and the others
    still go in."""
    paths, manifest_types = _with_manifests(importer, paths)
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
    bulk = [p for p in files if ".ndjson" in p.name and p.exists()]
    if bulk:
        _import_set(importer, bulk, manifest_types, batch_size)
        for path in bulk:
            if progress:
                progress(path)
    for path in (p for p in files if p not in bulk):
        importer.summary.files += 1
        _import_unit_file(importer, path)
        if progress:
            progress(path)
    refresh_planner_statistics()  # so the first queries after a bulk load are planned on real sizes


def _import_unit_file(importer: Importer, path: Path) -> None:
    """One file as one unit. A file another import wrote some of meanwhile is read again, so
    two imports of the same files at once both succeed, each resource written once."""
    for attempt in range(RETRIES):
        before = importer.checkpoint()
        try:
            import_file(importer, path)
            return
        except Refused as refused:
            importer.rollback_to(before)  # nothing of a refused file was written, so count nothing
            if isinstance(refused, WrittenMeanwhile) and attempt < RETRIES - 1:
                continue
            importer.summary.units_refused += 1
            importer.summary.errors.extend(
                Issue(i.severity, i.code, i.message, i.file or str(path), i.entry, i.expression)
                for i in refused.issues
            )
            return
        except Exception as error:  # an unexpected failure refuses this file, not the whole run
            importer.rollback_to(before)
            importer.summary.units_refused += 1
            importer.summary.errors.append(
                Issue("fatal", "exception", f"could not import: {type(error).__name__}", str(path))
            )
            logger.exception("import of one file failed (file index %d)", importer.summary.files)
            return


def _import_set(
    importer: Importer, paths: list[Path], manifest_types: dict[Path, str | None], batch_size: int
) -> None:
    """The NDJSON files as one Bulk Data set: refused whole before anything is written, or written in
    committed batches that a re-run completes (ADR 0016)."""
    importer.summary.files += len(paths)
    before = importer.checkpoint()
    load = BulkLoad(importer, [_set_file(p, manifest_types.get(p)) for p in paths], batch_size=batch_size)
    try:
        load.run()
        return
    except Refused as refused:
        issues = refused.issues
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        issues = [
            Issue("fatal", "exception", f"cannot read the files: {type(error).__name__}", str(paths[0]))
        ]
    except Exception as error:  # never a traceback: the set is reported as not (fully) imported
        issues = [Issue("fatal", "exception", f"could not import: {type(error).__name__}", str(paths[0]))]
        logger.exception("import of a set of %d NDJSON files failed", len(paths))
    importer.summary.units_refused += len(paths)
    importer.summary.errors.extend(issues)
    if not load.committed:
        importer.rollback_to(before)  # refused before anything was written
    else:  # the committed batches stay and are counted (ADR 0016)
        message = (
            "the load stopped after some batches were committed; run the same import again to complete it"
        )
        importer.summary.errors.append(Issue("error", "incomplete", message, str(paths[0].parent)))
