"""The loader of ``medicines_rules.yaml`` (issue 13): the medicines review rules (PINCER, STOPP/START v3,
anticholinergic burden, duplication, polypharmacy and falls-risk medicines) with their medicine
groups, coded-event lists, facts and the ACB scale, every reference resolved and every ``when``
parsed, so a wrong name is refused here naming the file, entry and field."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .. import releases
from .._schema import Document
from ..models import Code
from .common import DATA_DIR, MEDICINE_CLASSES_FILE, file_path, release_codes
from .medicines import load_medicine_classes

MEDICINES_RULES_FILE = DATA_DIR / "medicines_rules.yaml"

#: The numbers a ``when`` may compare, and the yes/no values it may name beside the facts.
NUMBERS = ("age", "medicine_count", "acb_total")
BUILTIN_FLAGS = ("male_or_female",)

#: A parsed ``when``: ("fact", id) | ("cmp", number, op, value) | ("not", x) | ("and"|"or", [x, ...]).
Expression = tuple[Any, ...]


@dataclass(frozen=True)
class MedicineGroup:
    """What a prescription is: listed codes, or an ingredient in its display (not an excluded form)."""

    id: str
    name: str
    codes: frozenset[Code]
    ingredients: tuple[str, ...]
    exclude_display: tuple[str, ...]
    duplication: bool


@dataclass(frozen=True)
class Fact:
    """One yes/no fact a person, over a window in calendar months back from the reference date.

    ``kind``: ``medicine`` (an issue of ``subject``), ``event`` (a coded event of one of ``codes``),
    ``latest_value`` (the latest event's value in [``low``, ``below``)), ``coprescribed`` (issues
    of ``subject`` and ``other`` under ``within_days`` apart). ``start_months`` None: no lower bound.
    """

    id: str
    kind: Literal["medicine", "event", "latest_value", "coprescribed"]
    subject: str
    start_months: int | None
    end_months: int
    codes: frozenset[Code] = frozenset()
    other: str = ""
    within_days: int = 0
    history: bool = False
    low: float | None = None
    below: float | None = None
    unless_codes: frozenset[Code] = frozenset()
    unless_end_months: int = 0


@dataclass(frozen=True)
class MedicinesRule:
    id: str
    family: str
    severity: Literal["high", "medium", "low"]
    kind: Literal["when", "acb", "duplicate"]
    when: Expression | None
    implicated: tuple[str, ...]
    clinician: str
    person: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class NotComputed:
    id: str
    reason: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class MedicinesRules:
    current_months: int
    not_issued: tuple[str, ...]
    not_current: tuple[str, ...]
    repeat_courses: tuple[str, ...]
    groups: tuple[MedicineGroup, ...]
    facts: tuple[Fact, ...]
    acb_threshold: int
    acb_scores: dict[str, int]
    rules: tuple[MedicinesRule, ...]
    not_computed: tuple[NotComputed, ...]
    version: str

    def rule(self, rule_id: str) -> MedicinesRule:
        return next(r for r in self.rules if r.id == rule_id)

    def fact(self, fact_id: str) -> Fact:
        return next(f for f in self.facts if f.id == fact_id)


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<op>>=|<=|<|>|=)|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


class _Parser:
    def __init__(self, doc: Document, path: str, text: str, facts: set[str]) -> None:
        self.doc, self.path, self.facts = doc, path, facts
        self.tokens: list[str] = []
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise doc.error(path, f"cannot read the expression at {text[position : position + 20]!r}")
            self.tokens.append(match.group(match.lastgroup or "word"))
            position = match.end()
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise self.doc.error(self.path, "the expression ends too early")
        self.index += 1
        return token

    def parse(self) -> Expression:
        result = self.disjunction()
        if self.peek() is not None:
            raise self.doc.error(self.path, f"unexpected {self.peek()!r} in the expression")
        return result

    def disjunction(self) -> Expression:
        items = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else ("or", items)

    def conjunction(self) -> Expression:
        items = [self.negation()]
        while self.peek() == "AND":
            self.take()
            items.append(self.negation())
        return items[0] if len(items) == 1 else ("and", items)

    def negation(self) -> Expression:
        if self.peek() == "NOT":
            self.take()
            return ("not", self.negation())
        return self.atom()

    def atom(self) -> Expression:
        token = self.take()
        if token == "(":
            inner = self.disjunction()
            if self.take() != ")":
                raise self.doc.error(self.path, "a bracket is not closed")
            return inner
        if token in NUMBERS:
            op = self.take()
            value = self.take()
            if op not in (">=", "<=", "<", ">", "=") or not re.fullmatch(r"\d+(?:\.\d+)?", value):
                raise self.doc.error(
                    self.path, f"{token} must be compared with a number, e.g. '{token} >= 65'"
                )
            return ("cmp", token, op, float(value))
        if token in self.facts or token in BUILTIN_FLAGS:
            return ("fact", token)
        raise self.doc.error(
            self.path,
            f"unknown name {token!r} (not a fact of this file, nor one of {NUMBERS + BUILTIN_FLAGS})",
        )


def expression_facts(expression: Expression) -> set[str]:
    """The facts an expression names."""
    kind = expression[0]
    if kind == "fact":
        return {expression[1]}
    if kind == "not":
        return expression_facts(expression[1])
    if kind in ("and", "or"):
        return set().union(*(expression_facts(item) for item in expression[1]))
    return set()


class _CodeSets:
    """Resolves ``condition:<id>``, ``check:<id>``, ``resolved:<id>``, ``list:<id>`` and ``falls``."""

    def __init__(self, doc: Document, medicine_classes_path: Path) -> None:
        from .conditions import load_condition_library
        from .drug_monitoring import load_monitoring_schedules
        from .frailty import load_fall_codes

        self.doc = doc
        library = load_condition_library(medicine_classes_path=medicine_classes_path)
        self.sets: dict[str, frozenset[Code]] = {f"condition:{c.id}": c.codes for c in library.conditions}
        self.sets.update(
            {
                f"check:{c.id}": c.codes
                for c in load_monitoring_schedules(medicine_classes_path=medicine_classes_path).checks
            }
        )
        from ..exclusions import load_exclusions

        self.sets.update({f"resolved:{k}": v for k, v in load_exclusions().resolved_codes.items()})
        self.sets["falls"] = frozenset(load_fall_codes())

    def get(self, reference: object, path: str) -> frozenset[Code]:
        if not isinstance(reference, str) or reference not in self.sets:
            raise self.doc.error(
                path, f"unknown code list {reference!r} (condition:, check:, resolved:, list: or falls)"
            )
        return self.sets[reference]


def _window(doc: Document, entry: dict[str, Any], path: str) -> tuple[int | None, int]:
    if "between_months" in entry:
        value = entry["between_months"]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
            or value[0] <= value[1]
        ):
            raise doc.error(
                f"{path}.between_months", "expected [from, to] months back, from > to >= 0, e.g. [3, 0]"
            )
        return int(value[0]), int(value[1])
    if "on_or_before_months" in entry:
        return None, doc.integer(entry, "on_or_before_months", path)
    raise doc.error(path, "missing required field(s): between_months or on_or_before_months")


def _groups(doc: Document, class_path: Path) -> tuple[MedicineGroup, ...]:
    classes = {m.id: m for m in load_medicine_classes(class_path)}
    groups: list[MedicineGroup] = []
    for path, entry in doc.entries("medicine_groups"):
        doc.keys(
            entry,
            path,
            ("id", "name", "sources"),
            ("classes", "ingredients", "codes", "exclude_display", "duplication"),
        )
        codes: set[Code] = set(releases.dmd_codes(doc.codes(entry, path, allow_empty=True)).codes)
        ingredients: list[str] = []
        for class_id in doc.string_list(entry, "classes", path) if "classes" in entry else []:
            if class_id not in classes:
                raise doc.error(
                    f"{path}.classes", f"unknown medicine class {class_id!r} (medicine_classes.yaml)"
                )
            codes |= classes[class_id].codes
            ingredients += classes[class_id].ingredients
        if "ingredients" in entry:
            own = doc.string_list(entry, "ingredients", path, allow_empty=False)
            if any(item != item.lower() for item in own):
                raise doc.error(f"{path}.ingredients", "ingredient names must be lowercase")
            ingredients += own
        if not ingredients and not codes:
            raise doc.error(path, "a group needs classes, ingredients or codes")
        excluded = doc.string_list(entry, "exclude_display", path) if "exclude_display" in entry else []
        groups.append(
            MedicineGroup(
                id=doc.identifier(entry, "id", path),
                name=doc.string(entry, "name", path),
                codes=frozenset(codes),
                ingredients=tuple(dict.fromkeys(ingredients)),
                exclude_display=tuple(excluded),
                duplication=doc.boolean(entry, "duplication", path) if "duplication" in entry else False,
            )
        )
        doc.sources(entry, path)
    return tuple(groups)


def _facts(doc: Document, group_ids: set[str], code_sets: _CodeSets) -> tuple[Fact, ...]:
    facts: list[Fact] = []
    for entry_path, entry in doc.entries("facts"):
        path = entry_path
        kinds = [k for k in ("medicine", "event", "latest_value", "coprescribed") if k in entry]
        if len(kinds) != 1:
            raise doc.error(path, "a fact is exactly one of medicine, event, latest_value, coprescribed")
        kind = kinds[0]
        optional = (
            "between_months",
            "on_or_before_months",
            "history",
            "also",
            "min",
            "below",
            "within_days",
            "unless_later",
            "unless_on_or_before_months",
        )
        doc.keys(entry, path, ("id", kind, "sources"), optional)
        start, end = _window(doc, entry, path)
        fact_id = doc.identifier(entry, "id", path)
        doc.sources(entry, path)
        if kind == "medicine":
            group = doc.string(entry, "medicine", path)
            if group not in group_ids:
                raise doc.error(f"{path}.medicine", f"unknown medicine group {group!r}")
            facts.append(
                Fact(
                    fact_id,
                    "medicine",
                    group,
                    start,
                    end,
                    history=doc.boolean(entry, "history", path) if "history" in entry else False,
                )
            )
        elif kind == "coprescribed":
            pair = doc.string_list(entry, "coprescribed", path, allow_empty=False)
            if len(pair) != 2 or not set(pair) <= group_ids:
                raise doc.error(f"{path}.coprescribed", "expected two known medicine groups")
            facts.append(
                Fact(
                    fact_id,
                    "coprescribed",
                    pair[0],
                    start,
                    end,
                    other=pair[1],
                    within_days=doc.integer(entry, "within_days", path, minimum=1),
                )
            )
        else:
            codes = set(code_sets.get(entry[kind], f"{path}.{kind}"))
            for index, other in enumerate(entry.get("also") or []):
                codes |= code_sets.get(other, f"{path}.also[{index}]")
            unless: frozenset[Code] = frozenset()
            if "unless_later" in entry:
                unless = code_sets.get(entry["unless_later"], f"{path}.unless_later")
            low = below = None
            if kind == "latest_value":
                for key in ("min", "below"):
                    if not isinstance(entry.get(key), int | float) or isinstance(entry.get(key), bool):
                        raise doc.error(f"{path}.{key}", "expected a number")
                low, below = float(entry["min"]), float(entry["below"])
            facts.append(
                Fact(
                    fact_id,
                    kind,
                    str(entry[kind]),
                    start,
                    end,
                    codes=frozenset(codes),
                    low=low,
                    below=below,
                    unless_codes=unless,
                    unless_end_months=doc.integer(entry, "unless_on_or_before_months", path)
                    if "unless_on_or_before_months" in entry
                    else 0,
                )
            )
    return tuple(facts)


def _rules(doc: Document, facts: tuple[Fact, ...]) -> tuple[MedicinesRule, ...]:
    fact_ids = {f.id for f in facts}
    rules: list[MedicinesRule] = []
    for path, entry in doc.entries("rules"):
        doc.keys(
            entry,
            path,
            ("id", "family", "severity", "clinician", "person", "sources"),
            ("when", "kind", "implicated"),
        )
        severity = doc.string(entry, "severity", path)
        if severity not in ("high", "medium", "low"):
            raise doc.error(f"{path}.severity", "expected high, medium or low")
        kind = doc.string(entry, "kind", path) if "kind" in entry else "when"
        if kind not in ("when", "acb", "duplicate"):
            raise doc.error(f"{path}.kind", "expected acb or duplicate (or no kind, with a when)")
        when = None
        if kind == "when":
            when = _Parser(doc, f"{path}.when", doc.string(entry, "when", path), fact_ids).parse()
        implicated = tuple(doc.string_list(entry, "implicated", path)) if "implicated" in entry else ()
        unknown = [i for i in implicated if i not in fact_ids and i != "current"]
        if unknown:
            raise doc.error(f"{path}.implicated", f"unknown fact(s) {', '.join(unknown)}")
        rule_id = doc.string(entry, "id", path)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", rule_id):
            raise doc.error(f"{path}.id", "expected letters, digits, '-', '_' or '.'")
        rules.append(
            MedicinesRule(
                id=rule_id,
                family=doc.string(entry, "family", path),
                severity=severity,  # type: ignore[arg-type]
                kind=kind,  # type: ignore[arg-type]
                when=when,
                implicated=implicated,
                clinician=doc.string(entry, "clinician", path),
                person=doc.string(entry, "person", path),
                sources=doc.sources(entry, path),
            )
        )
    return tuple(rules)


def _acb(doc: Document) -> tuple[int, dict[str, int]]:
    block = doc.mapping(doc.root["acb"], "acb")
    doc.keys(block, "acb", ("threshold", "scores", "sources"))
    doc.sources(block, "acb")
    scores: dict[str, int] = {}
    raw_scores: dict[Any, Any] = doc.mapping(block["scores"], "acb.scores")
    for score, names in raw_scores.items():
        if score not in (1, 2, 3) or not isinstance(names, list):
            raise doc.error(f"acb.scores.{score}", "expected scores 1, 2 or 3, each a list of ingredients")
        for name in names:
            if not isinstance(name, str) or name != name.lower() or name in scores:
                raise doc.error(
                    f"acb.scores.{score}", f"{name!r}: expected a lowercase ingredient listed once"
                )
            scores[name] = int(score)
    return doc.integer(block, "threshold", "acb", minimum=1), scores


@functools.lru_cache(maxsize=4)
def _load(file: Path, class_path: Path) -> MedicinesRules:
    doc = Document(file, "careweave.terminology.medicines_rules/1")
    doc.check_root_keys(
        ("statuses", "medicine_groups", "code_lists", "facts", "acb", "rules", "not_computed")
    )
    statuses = doc.mapping(doc.root["statuses"], "statuses")
    doc.keys(
        statuses, "statuses", ("current_months", "not_issued", "not_current", "repeat_courses", "sources")
    )
    doc.sources(statuses, "statuses")
    groups = _groups(doc, class_path)
    code_sets = _CodeSets(doc, class_path)
    for path, entry in doc.entries("code_lists"):
        doc.keys(entry, path, ("id", "name", "codes", "sources"), ("ecl",))
        doc.sources(entry, path)
        code_sets.sets[f"list:{doc.identifier(entry, 'id', path)}"] = release_codes(
            doc, entry, path, doc.codes(entry, path)
        )
    facts = _facts(doc, {g.id for g in groups}, code_sets)
    threshold, scores = _acb(doc)
    not_computed: list[NotComputed] = []
    for path, entry in doc.entries("not_computed"):
        doc.keys(entry, path, ("id", "reason", "examples", "sources"))
        doc.sources(entry, path)
        not_computed.append(
            NotComputed(
                doc.identifier(entry, "id", path),
                doc.string(entry, "reason", path),
                tuple(doc.string_list(entry, "examples", path, allow_empty=False)),
            )
        )
    return MedicinesRules(
        current_months=doc.integer(statuses, "current_months", "statuses", minimum=1),
        not_issued=tuple(doc.string_list(statuses, "not_issued", "statuses")),
        not_current=tuple(doc.string_list(statuses, "not_current", "statuses")),
        repeat_courses=tuple(doc.string_list(statuses, "repeat_courses", "statuses")),
        groups=groups,
        facts=facts,
        acb_threshold=threshold,
        acb_scores=scores,
        rules=_rules(doc, facts),
        not_computed=tuple(not_computed),
        version=doc.version,
    )


def load_medicines_rules(
    path: Path | str | None = None, *, medicine_classes_path: Path | str | None = None
) -> MedicinesRules:
    """The medicines review rules (``medicines_rules.yaml``), every reference resolved."""
    return _load(
        file_path(path, MEDICINES_RULES_FILE), file_path(medicine_classes_path, MEDICINE_CLASSES_FILE)
    )
