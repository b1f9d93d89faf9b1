"""The terminology store: the organisation's own SNOMED CT and dm+d releases and code lists, as files.

Layout under ``CAREWEAVE_TERMINOLOGY_DIR`` (default ``./terminology``; ADR 0008)::

    snomed/current.json              which release is in use (its manifest)
    snomed/<release id>/             closure.parquet, concepts.parquet, manifest.json, expansions/
    dmd/current.json, dmd/<release id>/
    codelists/<name>.json            OpenCodelists downloads, validated

Every write goes to a temporary name in the same directory and is renamed into place, so a reader
sees the old release or the new one, never half of either, and a failed load leaves nothing behind.
Django-free.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_VAR = "CAREWEAVE_TERMINOLOGY_DIR"

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` by long loads (``total`` is the number of stages)."""


class ReleaseError(ValueError):
    """Bad input to a terminology load. The message names the file, and the line and field when known."""

    def __init__(self, file: str | Path, message: str, *, line: int | None = None, field: str | None = None):
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        where = Path(file).name
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", {field}"
        super().__init__(f"{where}: {message}")


def terminology_dir(path: Path | str | None = None) -> Path:
    """The store directory: ``path``, else ``$CAREWEAVE_TERMINOLOGY_DIR``, else ``./terminology``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or Path.cwd() / "terminology")


@dataclass(frozen=True)
class Store:
    root: Path

    @classmethod
    def at(cls, path: Path | str | None = None) -> Store:
        return cls(terminology_dir(path))

    def area(self, name: str) -> Path:
        return self.root / name

    def current(self, area: str) -> dict[str, Any] | None:
        """The manifest of the release in use in ``area`` (``snomed``, ``dmd``), or ``None``."""
        pointer = self.area(area) / "current.json"
        if not pointer.exists():
            return None
        manifest: dict[str, Any] = json.loads(pointer.read_text(encoding="utf-8"))
        if not (self.area(area) / manifest["release_id"]).is_dir():
            return None
        return manifest

    def release_dir(self, area: str, release_id: str) -> Path:
        return self.area(area) / release_id

    def current_release(self, area: str) -> tuple[Path, dict[str, Any]] | None:
        """The directory and manifest of the release in use in ``area``, or ``None``."""
        manifest = self.current(area)
        if manifest is None:
            return None
        return self.release_dir(area, manifest["release_id"]), manifest

    def staging_dir(self, area: str) -> Path:
        """A fresh directory beside the releases, to build a release in before it is renamed."""
        base = self.area(area)
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".loading-", dir=base))

    def publish(self, area: str, staging: Path, manifest: dict[str, Any]) -> Path:
        """Move a fully built release into place and make it current. Loading the same release again
        replaces it; other releases stay on disk (their expansions are still citable) until removed."""
        write_json(staging / "manifest.json", manifest)
        final = self.release_dir(area, manifest["release_id"])
        if final.exists():
            old = final.with_name(f".old-{final.name}-{os.getpid()}")
            final.rename(old)
            staging.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(final)
        write_json(self.area(area) / "current.json", manifest)
        return final


def write_json(path: Path, value: object) -> None:
    """Write ``value`` as JSON under a temporary name and rename it over ``path`` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(value, out, indent=1, sort_keys=True)
            out.write("\n")
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
