"""OpenCodelists CSV downloads as an ICB's own code lists (issue 10, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.terminology.codelists import load_codelist, stored_codelist, stored_codelist_names
from careweave.terminology.models import DMD, SNOMED
from careweave.terminology.store import ReleaseError, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_new_style_download_is_stored_by_name(tmp_path: Path, store: Store) -> None:
    file = _csv(
        tmp_path / "asthma.csv",
        "code,term\n195967001,Asthma\n401000119107,Asthma with irreversible airway obstruction\n",
    )
    summary = load_codelist(file, "asthma-diagnosis", store=store)
    assert summary == {
        "name": "asthma-diagnosis",
        "system": "snomed",
        "codes": 2,
        "code_column": "code",
        "replaced": False,
        "sha256": summary["sha256"],
    }
    stored = stored_codelist("asthma-diagnosis", store=store)
    assert stored is not None and stored.system_uri == SNOMED
    assert stored.codes == {"195967001", "401000119107"} and stored.terms["195967001"] == "Asthma"
    assert stored_codelist_names(store=store) == ("asthma-diagnosis",)


@pytest.mark.parametrize(
    ("header", "system"),
    [
        ("id,term", "snomed"),
        ("snomedcode,description", "snomed"),
        ("dmd_type,dmd_id,dmd_name,bnf_code", "dmd"),
    ],
)
def test_older_and_dmd_downloads_are_recognised(
    tmp_path: Path, store: Store, header: str, system: str
) -> None:
    row = (
        "VMP,35894711000001106,Adenosine 6mg/2ml solution for injection vials,0203020A0"
        if system == "dmd"
        else "38341003,Hypertension"
    )
    file = _csv(tmp_path / "list.csv", f"\ufeff{header}\n{row}\n")  # with the BOM Excel writes
    load_codelist(file, "list", store=store)
    stored = stored_codelist("list", store=store)
    assert stored is not None and stored.system == system and len(stored.codes) == 1
    assert stored.system_uri == (DMD if system == "dmd" else SNOMED)


def test_a_bad_code_refuses_the_whole_file_naming_line_and_column(tmp_path: Path, store: Store) -> None:
    load_codelist(
        _csv(tmp_path / "old.csv", "code,term\n38341003,Hypertension\n"), "hypertension", store=store
    )
    bad = _csv(
        tmp_path / "new.csv", "code,term\n59621000,Essential hypertension\n38341004,Typo\n\nabc,Not a code\n"
    )
    with pytest.raises(ReleaseError) as raised:
        load_codelist(bad, "hypertension", store=store)
    assert (raised.value.line, raised.value.field) == (3, "column 'code'")
    assert (
        "check digit" in str(raised.value)
        and "1 more bad row" in str(raised.value)
        and "new.csv" in str(raised.value)
    )
    stored = stored_codelist("hypertension", store=store)
    assert stored is not None and stored.codes == {"38341003"}  # the old list stands


def test_loading_again_replaces_without_duplicates(tmp_path: Path, store: Store) -> None:
    load_codelist(_csv(tmp_path / "a.csv", "code,term\n38341003,Hypertension\n"), "htn", store=store)
    summary = load_codelist(
        _csv(tmp_path / "b.csv", "code,term\n59621000,Essential\n59621000,Essential\n"), "htn", store=store
    )
    assert summary["replaced"] and summary["codes"] == 1
    stored = stored_codelist("htn", store=store)
    assert stored is not None and stored.codes == {"59621000"} and stored.source_file == "b.csv"
    assert stored_codelist_names(store=store) == ("htn",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("term,notes\nAsthma,x\n", "no code column"),
        ("code,term\n", "no codes"),
        ("code,term\n900000000000003001,A description type\n", None),
        ("code,term\n5001114,A description id\n", "a description id"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, store: Store, text: str, message: str | None) -> None:
    file = _csv(tmp_path / "x.csv", text)
    if message is None:
        load_codelist(file, "ok", store=store)  # a concept id in any hierarchy is fine
        return
    with pytest.raises(ReleaseError, match=message):
        load_codelist(file, "x", store=store)


def test_names_cannot_escape_the_store(tmp_path: Path, store: Store) -> None:
    file = _csv(tmp_path / "a.csv", "code,term\n38341003,Hypertension\n")
    with pytest.raises(ReleaseError, match="lower-case"):
        load_codelist(file, "../../etc/passwd", store=store)


def test_cli_load_codelist(tmp_path: Path) -> None:
    env = {"CAREWEAVE_TERMINOLOGY_DIR": str(tmp_path / "store")}
    file = _csv(tmp_path / "a.csv", "code,term\n38341003,Hypertension\n")
    result = CliRunner().invoke(
        app, ["terminology", "load-codelist", str(file), "--as", "htn", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["codes"] == 1
    bad = _csv(tmp_path / "b.csv", "code,term\n38341004,Typo\n")
    result = CliRunner().invoke(app, ["terminology", "load-codelist", str(bad), "--as", "htn"], env=env)
    assert result.exit_code == 2 and "b.csv, line 2, column 'code'" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(
        app, ["terminology", "load-codelist", str(tmp_path / "none.csv"), "--as", "htn"], env=env
    )
    assert missing.exit_code == 2 and "no such file" in missing.output
