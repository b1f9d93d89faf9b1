"""Every YAML file in the package is reviewed data, checked by the one schema code (``Document``).

Each file has the review header, a references table and a citation for every entry; a copy with a
citation removed is refused, naming the file and the field, by the generic check and by the file's
own loader alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import careweave
from careweave.synth.parameters import load_parameters
from careweave.terminology import (
    Document,
    TerminologyError,
    load_condition_library,
    load_frailty_index,
    load_key_measurements,
    load_medicine_classes,
    load_monitoring_requirements,
    load_social_needs,
    load_worklist_rules,
    validate_reviewed_file,
)
from careweave.terminology._schema import HEADER_KEYS, UNCITED_BLOCKS
from careweave.terminology.care_burden import load_care_burden
from careweave.terminology.continuity import load_continuity
from careweave.terminology.home_readings import load_home_readings
from careweave.terminology.loading.accessible_information import load_accessible_information
from careweave.terminology.loading.medicine_information import load_medicine_information
from careweave.terminology.loading.medicines_rules import load_medicines_rules
from careweave.terminology.loading.prompts import load_contact_prompts
from careweave.terminology.loading.reviews import load_review_planning
from careweave.terminology.proxy_sensitive import load_proxy_sensitive
from careweave.terminology.record_sharing import load_record_sharing

PACKAGE = Path(careweave.__file__).resolve().parent
REVIEWED = sorted(PACKAGE.rglob("*.yaml")) + sorted(PACKAGE.rglob("*.yml"))

# The file-specific loaders, each of which must refuse what the generic check refuses.
LOADERS: dict[str, Callable[[Path], object]] = {
    "conditions.yaml": load_condition_library,
    "medicine_classes.yaml": load_medicine_classes,
    "frailty_index.yaml": load_frailty_index,
    "social_needs.yaml": load_social_needs,
    "worklist_rules.yaml": load_worklist_rules,
    "monitoring.yaml": load_monitoring_requirements,
    "key_measurements.yaml": load_key_measurements,
    "population.yaml": load_parameters,
    "review_planning.yaml": load_review_planning,
    "continuity.yaml": load_continuity,
    "care_burden.yaml": load_care_burden,
    "medicines_rules.yaml": load_medicines_rules,
    "home_readings.yaml": load_home_readings,
    "proxy_sensitive.yaml": load_proxy_sensitive,
    "record_sharing.yaml": load_record_sharing,
    "accessible_information.yaml": load_accessible_information,
    "contact_prompts.yaml": load_contact_prompts,
    "medicine_information.yaml": load_medicine_information,
}


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def test_the_glob_finds_every_kind_of_data_file() -> None:
    names = {_id(path) for path in REVIEWED}
    assert {
        "terminology/data/conditions.yaml",
        "terminology/data/key_measurements.yaml",
        "population/data/lay_phrases.yaml",
        "synth/data/population.yaml",
    } <= names


@pytest.mark.parametrize("path", REVIEWED, ids=_id)
def test_each_file_has_the_review_header_and_cites_every_entry(path: Path) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in HEADER_KEYS:
        assert key in raw, f"{_id(path)} lacks the header field {key}"
    document = validate_reviewed_file(path)
    assert document.schema.startswith("careweave.")
    assert document.review.authored_by and document.review.checked_by
    assert document.references


def _first_citation(data: dict[str, Any], schema: str) -> tuple[dict[str, Any], str]:
    """The mapping holding the first ``sources`` the check reads, and a label for it."""
    if "sources" in data:
        return data, "<root>"
    skip = {*HEADER_KEYS, "references", "description", *UNCITED_BLOCKS.get(schema, {})}
    for key, value in data.items():
        if key in skip:
            continue
        if isinstance(value, dict) and "sources" in value:
            return value, key
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
        for item in items:
            if isinstance(item, dict) and "sources" in item:
                return item, key
    raise AssertionError("no citation found")


@pytest.mark.parametrize("path", REVIEWED, ids=_id)
def test_a_copy_with_a_citation_removed_is_refused(path: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    holder, block = _first_citation(data, data["schema"])
    del holder["sources"]
    copy = tmp_path / path.name
    copy.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")

    with pytest.raises(TerminologyError) as raised:
        validate_reviewed_file(copy)
    error = raised.value
    assert Path(error.file).name == path.name
    assert error.path.startswith(block) or block == "<root>", error.path
    assert "sources" in error.message
    assert str(error).startswith(f"{path.name}: ")

    loader = LOADERS.get(path.name)
    if loader is not None:
        with pytest.raises(TerminologyError, match="sources"):
            loader(copy)


def test_an_uncited_value_is_refused_even_beside_cited_ones(tmp_path: Path) -> None:
    source = PACKAGE / "terminology" / "data" / "monitoring.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["hba1c_target_mmol_mol"] = 58  # a threshold smuggled in with no citation
    copy = tmp_path / source.name
    copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(TerminologyError, match=r"monitoring.yaml: hba1c_target_mmol_mol: .*sources"):
        validate_reviewed_file(copy)


def test_a_missing_header_field_is_refused(tmp_path: Path) -> None:
    source = PACKAGE / "population" / "data" / "lay_phrases.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    del data["checked_by"]
    copy = tmp_path / source.name
    copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(TerminologyError, match="lay_phrases.yaml: checked_by: missing required header"):
        validate_reviewed_file(copy)


def test_the_exempt_blocks_name_real_blocks_of_real_files() -> None:
    """An exemption for a block that no longer exists (or a schema no file has) is stale review."""
    by_schema = {validate_reviewed_file(path).schema: path for path in REVIEWED}
    for schema, blocks in UNCITED_BLOCKS.items():
        assert schema in by_schema
        root = Document(by_schema[schema], schema).root
        for key, reason in blocks.items():
            assert key in root and "sources" not in (root[key] if isinstance(root[key], dict) else {})
            assert reason
