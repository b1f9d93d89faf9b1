"""Loading the organisation's own SNOMED CT RF2 release into a transitive closure (issue 10, item 1)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.terminology.sctid import concept_id_problem, verhoeff_digit, verhoeff_valid
from careweave.terminology.snomed import IS_A, SnomedRelease, closure_arrays, load_snomed
from careweave.terminology.store import ReleaseError, Store

from .rf2_fixtures import (
    DIABETES,
    DIABETIC_HYPERTENSION,
    DISEASE,
    ESSENTIAL,
    EXISTENTIAL,
    FINDING,
    HYPERTENSION,
    INFERRED,
    MODULE,
    RETIRED,
    ROOT,
    TYPE1,
    TYPE2,
    full,
    snapshot,
    write_rf2,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def _loaded(store: Store) -> SnomedRelease:
    release = SnomedRelease.current(store)
    assert release is not None
    return release


def test_snapshot_gives_every_descendant_including_through_a_second_parent(
    tmp_path: Path, store: Store
) -> None:
    manifest = load_snomed(snapshot(tmp_path / "rf2"), store=store)
    release = _loaded(store)
    assert release.descendants(HYPERTENSION) == {ESSENTIAL, DIABETIC_HYPERTENSION}
    assert release.descendants(DIABETES) == {TYPE1, TYPE2, DIABETIC_HYPERTENSION}
    assert release.descendants(ROOT) == {
        FINDING,
        DISEASE,
        HYPERTENSION,
        ESSENTIAL,
        DIABETES,
        TYPE1,
        TYPE2,
        DIABETIC_HYPERTENSION,
    }
    assert release.descendants(ESSENTIAL) == frozenset()
    # an attribute relationship (finding site) is not is-a
    assert TYPE2 not in release.descendants(HYPERTENSION)
    assert manifest["release_id"] == "GB1000000_20240925"
    assert manifest["counts"]["active_concepts"] == 9
    assert manifest["counts"]["isa_edges"] == 9
    # ancestors per concept: 1 + 2 + 3 + 4 (essential) + 3 + 4 + 4 (type 1 and 2) + 5 (two parents)
    assert manifest["counts"]["closure_rows"] == 26
    assert release.term(ESSENTIAL) == "Essential hypertension (disorder)"


def test_inactive_concepts_and_inactive_is_a_rows_are_left_out(tmp_path: Path, store: Store) -> None:
    load_snomed(snapshot(tmp_path / "rf2"), store=store)
    release = _loaded(store)
    assert RETIRED not in release.descendants(DISEASE)
    assert release.active([RETIRED, ESSENTIAL]) == {ESSENTIAL}


def test_full_release_takes_the_latest_row_of_each_component(tmp_path: Path, store: Store) -> None:
    manifest = load_snomed(full(tmp_path / "rf2"), store=store)
    release = _loaded(store)
    # inactivated in 2022: type 1 diabetes is not a hypertensive disorder
    assert TYPE1 not in release.descendants(HYPERTENSION)
    # inactivated in 2021, reactivated in 2024: counts
    assert ESSENTIAL in release.descendants(HYPERTENSION)
    # active in 2020, retired in 2023
    assert release.active([RETIRED]) == frozenset()
    assert manifest["release_type"] == ["Full"]
    snapshot_store = Store(tmp_path / "other")
    load_snomed(snapshot(tmp_path / "snap"), store=snapshot_store)
    assert manifest["counts"]["closure_rows"] == _loaded(snapshot_store).manifest["counts"]["closure_rows"]


def test_a_zip_as_trud_supplies_it_loads_the_same(tmp_path: Path, store: Store) -> None:
    folder = snapshot(tmp_path / "rf2")
    archive = tmp_path / "uk_sct2cl_39.0.0_20240925000001Z.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in folder.rglob("*.txt"):
            out.write(file, f"SnomedCT_UKClinicalRF2/{file.relative_to(folder)}")
    load_snomed(archive, store=store)
    assert _loaded(store).descendants(DIABETES) == {TYPE1, TYPE2, DIABETIC_HYPERTENSION}


def test_loading_again_replaces_and_a_new_release_becomes_current(tmp_path: Path, store: Store) -> None:
    load_snomed(snapshot(tmp_path / "a"), store=store)
    load_snomed(snapshot(tmp_path / "a"), store=store)
    releases = [p.name for p in store.area("snomed").iterdir() if p.is_dir()]
    assert releases == ["GB1000000_20240925"]
    load_snomed(snapshot(tmp_path / "b", date="20250101", extra_isa=[(TYPE2, HYPERTENSION)]), store=store)
    release = _loaded(store)
    assert release.release_id == "GB1000000_20250101"
    assert TYPE2 in release.descendants(HYPERTENSION)


def _relationship_file(folder: Path) -> Path:
    return next(folder.rglob("sct2_Relationship_*.txt"))


def test_a_wrong_header_names_the_file_line_and_column(tmp_path: Path, store: Store) -> None:
    folder = snapshot(tmp_path / "rf2")
    file = _relationship_file(folder)
    file.write_bytes(file.read_bytes().replace(b"destinationId", b"targetId", 1))
    with pytest.raises(ReleaseError) as raised:
        load_snomed(folder, store=store)
    assert raised.value.line == 1 and raised.value.field == "column 6"
    assert file.name in str(raised.value) and "'destinationId'" in str(raised.value)
    assert store.current("snomed") is None


def test_a_bad_value_names_its_line_and_field_and_nothing_changes(tmp_path: Path, store: Store) -> None:
    load_snomed(snapshot(tmp_path / "good"), store=store)
    folder = snapshot(tmp_path / "bad", date="20250101")
    file = _relationship_file(folder)
    lines = file.read_bytes().split(b"\r\n")
    fields = lines[3].split(b"\t")
    fields[5] = b"73211OO9"  # letters O for zeros
    lines[3] = b"\t".join(fields)
    file.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ReleaseError) as raised:
        load_snomed(folder, store=store)
    assert (raised.value.line, raised.value.field) == (4, "destinationId")
    assert _loaded(store).release_id == "GB1000000_20240925"
    assert not [p for p in store.area("snomed").iterdir() if p.name.startswith(".")]


def test_a_short_row_is_refused(tmp_path: Path, store: Store) -> None:
    folder = snapshot(tmp_path / "rf2")
    file = next(folder.rglob("sct2_Concept_*.txt"))
    file.write_bytes(file.read_bytes() + b"12345009\t20240925\t1\r\n")
    with pytest.raises(ReleaseError) as raised:
        load_snomed(folder, store=store)
    assert raised.value.line == 12 and "3 tab-separated fields, expected 5" in str(raised.value)


def test_missing_files_delta_only_and_cycles_are_refused(tmp_path: Path, store: Store) -> None:
    folder = snapshot(tmp_path / "rf2")
    _relationship_file(folder).unlink()
    with pytest.raises(ReleaseError, match="no sct2_Relationship_"):
        load_snomed(folder, store=store)
    delta = snapshot(tmp_path / "delta")
    for file in delta.rglob("*.txt"):
        file.rename(file.with_name(file.name.replace("Snapshot", "Delta")))
    with pytest.raises(ReleaseError, match="Delta"):
        load_snomed(delta, store=store)
    cyclic = snapshot(tmp_path / "cycle", extra_isa=[(DISEASE, ESSENTIAL)])
    with pytest.raises(ReleaseError, match="cycle"):
        load_snomed(cyclic, store=store)
    with pytest.raises(ReleaseError, match="no such file"):
        load_snomed(tmp_path / "nowhere", store=store)


def test_two_releases_of_one_edition_in_one_folder_are_refused(tmp_path: Path, store: Store) -> None:
    folder = snapshot(tmp_path / "rf2")
    snapshot(folder / "older", date="20230101")
    with pytest.raises(ReleaseError, match="two releases of the same edition"):
        load_snomed(folder, store=store)


def test_closure_arrays_match_a_search_from_every_concept() -> None:
    rng = np.random.default_rng(3)
    child = np.arange(1, 300)
    parent = rng.integers(0, child)  # a random tree...
    extra_child = rng.integers(50, 300, size=200)
    extra_parent = rng.integers(0, extra_child)  # ...made a DAG by second parents above
    child = np.concatenate([child, extra_child]) + 100_000
    parent = np.concatenate([parent, extra_parent]) + 100_000
    descendant, ancestor, _levels = closure_arrays(child, parent)
    parents: dict[int, set[int]] = {}
    for c, p in zip(child.tolist(), parent.tolist(), strict=True):
        parents.setdefault(c, set()).add(p)
    expected = set()
    for start in parents:
        seen: set[int] = set()
        stack = list(parents[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(parents.get(node, ()))
        expected |= {(start, a) for a in seen}
    got = list(zip(descendant.tolist(), ancestor.tolist(), strict=True))
    assert set(got) == expected and len(got) == len(expected)
    assert ancestor.tolist() == sorted(ancestor.tolist())


def test_sctid_check_digits_follow_the_specification() -> None:
    # Verhoeff's permutation table is F1 applied repeatedly; a typo in one row passes half of all ids
    from careweave.terminology import sctid

    for row in range(2, 8):
        assert list(sctid._P[row]) == [sctid._P[row - 1][sctid._P[1][j]] for j in range(10)]
    for real in (
        "38341003",
        IS_A,
        "404684003",
        "900000000000003001",
        "35894711000001106",
        MODULE,
        INFERRED,
        EXISTENTIAL,
    ):
        assert concept_id_problem(real) is None, real
    assert verhoeff_valid("38341003") and not verhoeff_valid("38341004")
    assert "check digit" in (concept_id_problem("38341004") or "")
    assert "description" in (concept_id_problem("5001" + "11" + verhoeff_digit("500111")) or "")
    assert "leading zero" in (concept_id_problem("038341003") or "")
    assert "6 to 18" in (concept_id_problem("12") or "")


def test_cli_load_snomed_json_and_bad_input(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    runner = CliRunner()
    env = {"CAREWEAVE_TERMINOLOGY_DIR": str(store_dir)}
    result = runner.invoke(
        app, ["terminology", "load-snomed", str(snapshot(tmp_path / "rf2")), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["release_id"] == "GB1000000_20240925"
    assert summary["counts"]["closure_rows"] == 26
    assert (store_dir / "snomed" / "current.json").exists()
    broken = snapshot(tmp_path / "broken")
    file = _relationship_file(broken)
    write_rf2(file, "Relationship", [("x",) * 10])
    result = runner.invoke(app, ["terminology", "load-snomed", str(broken)], env=env)
    assert result.exit_code == 2
    assert "line 2" in result.output and file.name in result.output
    assert "Traceback" not in result.output
