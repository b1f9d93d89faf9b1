"""The ECL subset code lists are written in: parsing, errors with positions, and expansion."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from careweave.terminology.ecl import Compound, Concept, EclError, Nested, evaluate, parse
from careweave.terminology.models import SNOMED
from careweave.terminology.releases import current_snomed, expand, snomed_codes
from careweave.terminology.snomed import load_snomed
from careweave.terminology.store import Store

from .rf2_fixtures import (
    DIABETES,
    DIABETIC_HYPERTENSION,
    DISEASE,
    ESSENTIAL,
    HYPERTENSION,
    RETIRED,
    TYPE1,
    TYPE2,
    snapshot,
)


class Tree:
    """A hand-written hierarchy: the evaluator is what is under test, not the release reader."""

    release_id = "tree"

    def __init__(self, parents: dict[str, set[str]]) -> None:
        self.parents = parents

    def descendants(self, concept: str) -> frozenset[str]:
        below = {c for c, ps in self.parents.items() if concept in ps}
        for child in set(below):
            below |= self.descendants(child)
        return frozenset(below)

    def active(self, concepts: Iterable[str]) -> frozenset[str]:
        known = set(self.parents) | {p for ps in self.parents.values() for p in ps}
        return frozenset(c for c in concepts if c in known)


TREE = Tree(
    {
        HYPERTENSION: {DISEASE},
        ESSENTIAL: {HYPERTENSION},
        DIABETES: {DISEASE},
        TYPE1: {DIABETES},
        TYPE2: {DIABETES},
        DIABETIC_HYPERTENSION: {DIABETES, HYPERTENSION},
    }
)


def test_operators_and_annotations() -> None:
    assert parse(f"<< {HYPERTENSION} |Hypertensive disorder|") == Concept(
        HYPERTENSION, "descendants_or_self", 4
    )
    assert evaluate(f"<<{HYPERTENSION}", TREE) == {HYPERTENSION, ESSENTIAL, DIABETIC_HYPERTENSION}
    assert evaluate(f"<{HYPERTENSION}", TREE) == {ESSENTIAL, DIABETIC_HYPERTENSION}
    assert evaluate(HYPERTENSION, TREE) == {HYPERTENSION}
    assert evaluate(f"<< {DIABETES} MINUS << {TYPE1} |Type 1|", TREE) == {
        DIABETES,
        TYPE2,
        DIABETIC_HYPERTENSION,
    }
    assert evaluate(f"<{HYPERTENSION} or <{DIABETES}", TREE) == {
        ESSENTIAL,
        DIABETIC_HYPERTENSION,
        TYPE1,
        TYPE2,
    }
    assert evaluate(f"<<{HYPERTENSION} AND <<{DIABETES}", TREE) == {DIABETIC_HYPERTENSION}
    assert evaluate(f"<<{HYPERTENSION} , <<{DIABETES}", TREE) == {DIABETIC_HYPERTENSION}
    assert evaluate(f"(<<{HYPERTENSION} OR <<{DIABETES}) MINUS <<{DIABETIC_HYPERTENSION}", TREE) == {
        HYPERTENSION,
        ESSENTIAL,
        DIABETES,
        TYPE1,
        TYPE2,
    }
    assert evaluate(f"< ({HYPERTENSION} OR {TYPE1})", TREE) == {ESSENTIAL, DIABETIC_HYPERTENSION}
    assert isinstance(parse(f"<< ({HYPERTENSION} OR {TYPE1})"), Nested)
    assert isinstance(parse(f"{TYPE1} OR {TYPE2} OR {ESSENTIAL}"), Compound)


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 1, "empty"),
        (f"<< {HYPERTENSION} OR", 15, "expression ended"),
        ("<< 38341004", 4, "check digit"),
        (f"<< {HYPERTENSION} OR {DIABETES} MINUS {TYPE1}", 25, "needs parentheses"),
        (f"<< {HYPERTENSION} MINUS {DIABETES} MINUS {TYPE1}", 28, "needs parentheses"),
        (f"> {HYPERTENSION}", 1, "ancestors"),
        (f"<<! {HYPERTENSION}", 1, "child-of"),
        (f"^ {HYPERTENSION}", 1, "reference set"),
        (f"({HYPERTENSION}", 10, "missing ')'"),
        (f"{HYPERTENSION} |unclosed", 10, "not closed"),
        (f"<< << {HYPERTENSION}", 4, "two constraint operators"),
        (f"{HYPERTENSION} {DIABETES}", 10, "after a complete expression"),
        ("hypertension", 1, "unexpected 'h'"),
        (f"<< {HYPERTENSION}: 363698007 = 80891009", 12, "refinements"),
    ],
)
def test_bad_expressions_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(EclError) as raised:
        parse(text)
    assert raised.value.position == position, raised.value
    assert words in str(raised.value)


def test_a_concept_the_release_lacks_is_an_error_not_an_empty_list() -> None:
    with pytest.raises(
        EclError, match=f"concept {RETIRED} is not an active concept in SNOMED CT release tree"
    ):
        evaluate(f"<< {HYPERTENSION} OR << {RETIRED}", TREE)


def test_expansion_against_a_loaded_release_is_versioned_and_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    load_snomed(snapshot(tmp_path / "rf2"), store=store)
    release = current_snomed(store)
    assert release is not None
    expansion = expand(f"<< {DIABETES} MINUS {TYPE1}", release)
    assert expansion.codes == {DIABETES, TYPE2, DIABETIC_HYPERTENSION}
    assert expansion.release_id == "GB1000000_20240925"
    saved = list((release.directory / "expansions").glob("*.json"))
    assert len(saved) == 1 and '"release_id": "GB1000000_20240925"' in saved[0].read_text()


def test_snomed_codes_uses_the_release_when_loaded_and_the_bundled_list_otherwise(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    historic = "1234567009"  # not in the release: an old code still found in records
    bundled = frozenset({(SNOMED, DIABETES), (SNOMED, TYPE2), (SNOMED, historic)})
    ecl = f"<< {DIABETES}"
    without = snomed_codes(bundled, ecl, store=store)
    assert (without.codes, without.source, without.release_id) == (bundled, "bundled", None)
    load_snomed(snapshot(tmp_path / "rf2"), store=store)
    with_release = snomed_codes(bundled, ecl, store=store)
    assert with_release.source == "release" and with_release.release_id == "GB1000000_20240925"
    assert with_release.codes == {
        (SNOMED, c) for c in (DIABETES, TYPE1, TYPE2, DIABETIC_HYPERTENSION, historic)
    }
    # a bundled code the release places outside the expression is dropped
    narrower = snomed_codes(bundled, f"<< {DIABETES} MINUS {TYPE2}", store=store)
    assert (SNOMED, TYPE2) not in narrower.codes and (SNOMED, historic) in narrower.codes
    assert snomed_codes(bundled, None, store=store).source == "bundled"
