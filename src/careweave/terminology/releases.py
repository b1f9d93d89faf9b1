"""What the loaders call: a code list's codes under the organisation's releases, or the bundled ones.

``snomed_codes`` gives "the codes of this code list": the expansion of its ECL definition against the
loaded SNOMED CT release when there is one, else the bundled, fully expanded list. An expansion is
computed once per (release, expression) and kept beside the release with the release id, so every
figure can say which release its codes came from. ``dmd_codes`` widens a medicine class's dm+d codes
to every VMP and AMP with the same ingredient (VTM). Django-free (ADR 0008).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from .dmd import DmdRelease
from .ecl import evaluate, parse
from .models import DMD, SNOMED, Code
from .snomed import SnomedRelease
from .store import Store, write_json


@dataclass(frozen=True)
class Expansion:
    ecl: str
    release_id: str
    codes: frozenset[str]
    expanded_at: str


@dataclass(frozen=True)
class CodeSet:
    """A code list's codes and where they came from (``release_id`` is None for the bundled list)."""

    codes: frozenset[Code]
    source: Literal["release", "bundled"]
    release_id: str | None = None
    ecl: str | None = None


@lru_cache(maxsize=4)
def _snomed(directory: Path, release_id: str) -> SnomedRelease:
    return SnomedRelease(directory, json.loads((directory / "manifest.json").read_text(encoding="utf-8")))


@lru_cache(maxsize=2)
def _dmd(directory: Path, release_id: str) -> DmdRelease:
    return DmdRelease(directory, json.loads((directory / "manifest.json").read_text(encoding="utf-8")))


def _current(area: str, store: Store | None) -> tuple[Path, str] | None:
    """The directory and id of the release in use in ``area``, or ``None`` when none is loaded."""
    store = store or Store.at()
    manifest = store.current(area)
    if manifest is None:
        return None
    return store.release_dir(area, manifest["release_id"]), manifest["release_id"]


def current_snomed(store: Store | None = None) -> SnomedRelease | None:
    """The SNOMED CT release in use (cached per release), or ``None``."""
    found = _current("snomed", store)
    return _snomed(*found) if found else None


def current_dmd(store: Store | None = None) -> DmdRelease | None:
    """The dm+d release in use (cached per release), or ``None``."""
    found = _current("dmd", store)
    return _dmd(*found) if found else None


def expand(ecl: str, release: SnomedRelease) -> Expansion:
    """``ecl`` expanded against ``release``, computed once and stored with the release id."""
    parse(ecl)  # a bad expression fails the same way whether or not it was expanded before
    key = hashlib.sha256(" ".join(ecl.split()).encode()).hexdigest()[:20]
    path = release.directory / "expansions" / f"{key}.json"
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["ecl"] == ecl and saved["release_id"] == release.release_id:
            return Expansion(ecl, saved["release_id"], frozenset(saved["codes"]), saved["expanded_at"])
    codes = evaluate(ecl, release)
    expansion = Expansion(
        ecl, release.release_id, codes, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    write_json(
        path,
        {
            "ecl": ecl,
            "release_id": release.release_id,
            "codes": sorted(codes, key=int),
            "expanded_at": expansion.expanded_at,
        },
    )
    return expansion


def snomed_codes(bundled: frozenset[Code], ecl: str | None, *, store: Store | None = None) -> CodeSet:
    """The codes of a code list: its ECL expanded against the loaded release, else ``bundled``.

    With a release, the expansion replaces the bundled SNOMED CT codes that the release knows as
    active concepts; bundled codes it does not know (inactive or retired concepts, still found in
    older records, and codes of other systems) are kept, so loading a release never drops a code a
    reviewed list matched. Raises ``EclError`` for a bad expression or one naming a concept the
    release does not have (a list to review, not one to expand silently to nothing)."""
    release = current_snomed(store) if ecl else None
    if release is None or ecl is None:
        return CodeSet(bundled, "bundled")
    expansion = expand(ecl, release)
    bundled_snomed = [code for system, code in bundled if system == SNOMED]
    active = release.active(bundled_snomed)
    kept = frozenset(c for c in bundled if c[0] != SNOMED or c[1] not in active)
    codes = kept | frozenset((SNOMED, code) for code in expansion.codes)
    return CodeSet(codes, "release", release.release_id, ecl)


def dmd_codes(codes: frozenset[Code], *, store: Store | None = None) -> CodeSet:
    """A medicine class's codes widened through the loaded dm+d release: every VMP and AMP whose VTM
    is one of the class's VTMs, or the VTM of one of its VMPs or AMPs. Without a release, ``codes``."""
    release = current_dmd(store)
    if release is None:
        return CodeSet(codes, "bundled")
    vtms = set()
    for system, code in codes:
        if system == DMD:
            ingredient = release.ingredient(code)
            if ingredient is not None:
                vtms.add(ingredient.id)
    widened = (
        codes | frozenset((DMD, code) for code in release.products(vtms)) | frozenset((DMD, v) for v in vtms)
    )
    return CodeSet(widened, "release", release.release_id)
