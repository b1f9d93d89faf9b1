"""The reviewed lists under an organisation's SNOMED CT release: an entry's `ecl` is expanded against the
loaded release (ADR 0008); without a release, or without `ecl`, the bundled codes stand."""

from __future__ import annotations

from pathlib import Path

import pytest

import careweave.terminology.loaders as loaders
from careweave.terminology import TerminologyError
from careweave.terminology.models import SNOMED
from careweave.terminology.snomed import load_snomed
from careweave.terminology.store import Store

from .rf2_fixtures import DIABETIC_HYPERTENSION, ESSENTIAL, HYPERTENSION, snapshot

BUNDLED = Path(loaders.__file__).parent / "data" / "social_needs.yaml"


def _with_ecl(tmp_path: Path, ecl: str) -> Path:
    """The bundled social needs file, its first entry given an ECL definition."""
    text = BUNDLED.read_text(encoding="utf-8")
    marker = "  - id: lives_alone\n    name: Lives alone\n"
    assert marker in text
    changed = text.replace(marker, marker + f"    ecl: '{ecl}'\n", 1)
    path = tmp_path / "social_needs.yaml"
    path.write_text(changed, encoding="utf-8")
    return path


def _lives_alone(path: Path) -> frozenset[tuple[str, str]]:
    return next(n for n in loaders.load_social_needs(path) if n.id == "lives_alone").codes


def test_without_a_release_the_bundled_codes_stand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREWEAVE_TERMINOLOGY_DIR", str(tmp_path / "empty-store"))
    codes = _lives_alone(_with_ecl(tmp_path, f"<< {HYPERTENSION}"))
    assert (SNOMED, "105529008") in codes
    assert (SNOMED, ESSENTIAL) not in codes


def test_with_a_release_the_ecl_is_expanded_and_old_codes_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    load_snomed(snapshot(tmp_path / "rf2"), store=Store(store))
    monkeypatch.setenv("CAREWEAVE_TERMINOLOGY_DIR", str(store))
    codes = _lives_alone(_with_ecl(tmp_path, f"<< {HYPERTENSION} MINUS {DIABETIC_HYPERTENSION}"))
    assert {(SNOMED, HYPERTENSION), (SNOMED, ESSENTIAL)} <= codes
    assert (SNOMED, DIABETIC_HYPERTENSION) not in codes
    # the bundled codes this small release does not know are kept: older records still match
    assert (SNOMED, "105529008") in codes


def test_a_bad_expression_names_the_file_and_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    load_snomed(snapshot(tmp_path / "rf2"), store=Store(store))
    monkeypatch.setenv("CAREWEAVE_TERMINOLOGY_DIR", str(store))
    with pytest.raises(TerminologyError) as refused:
        _lives_alone(_with_ecl(tmp_path, f"<< {HYPERTENSION} OR"))
    assert "social_needs.yaml" in str(refused.value) and "social_needs[0](lives_alone).ecl" in str(refused.value)
