"""What every loader shares: where the packaged data files are, and an entry's codes under the
organisation's SNOMED CT release."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import releases
from .._schema import Document
from ..ecl import EclError
from ..models import Code

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

CONDITIONS_FILE = DATA_DIR / "conditions.yaml"
MEDICINE_CLASSES_FILE = DATA_DIR / "medicine_classes.yaml"
FRAILTY_FILE = DATA_DIR / "frailty_index.yaml"
SOCIAL_NEEDS_FILE = DATA_DIR / "social_needs.yaml"
WORKLIST_RULES_FILE = DATA_DIR / "worklist_rules.yaml"
MONITORING_FILE = DATA_DIR / "monitoring.yaml"
KEY_MEASUREMENTS_FILE = DATA_DIR / "key_measurements.yaml"


def file_path(path: Path | str | None, default: Path) -> Path:
    """The file a loader reads: the one given (tests pass malformed copies), else the packaged one."""
    return default if path is None else Path(path)


def release_codes(
    doc: Document, entry: dict[str, Any], path: str, bundled: frozenset[Code]
) -> frozenset[Code]:
    """An entry's codes under the organisation's SNOMED CT release: its optional `ecl` definition
    (`<<`, `<`, `OR`, `MINUS`) expanded against the loaded release, else the bundled, fully expanded
    `codes` (ADR 0008). Bundled codes the release does not know stay, so old records still match."""
    ecl = entry.get("ecl")
    if ecl is not None and (not isinstance(ecl, str) or not ecl.strip()):
        raise doc.error(f"{path}.ecl", "expected an ECL expression, e.g. '<< 49436004 |Atrial fibrillation|'")
    try:
        return releases.snomed_codes(bundled, ecl).codes
    except EclError as error:
        raise doc.error(f"{path}.ecl", str(error)) from None
