"""Exclusions as QOF and NICE apply them: which coded diagnoses do not count (verification status, a
later resolved code, a missing clinical status) and which people are set aside from which rules
(deceased, deregistered, palliative care register, care home residents as their own flag).

Read from the reviewed ``data/exclusions.yaml`` with the shared schema checks (:class:`Document`);
every decision cites its source there. Django-free.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, get_args

from ._schema import Document
from .models import Code

EXCLUSIONS_FILE: Final = Path(__file__).resolve().parent / "data" / "exclusions.yaml"

#: FHIR R4 condition-ver-status codes.
VERIFICATION_STATUSES: Final = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)
PersonRuleKind = Literal["deceased", "no_registered_practice", "coded"]
Effect = Literal["exclude", "keep"]
#: The person rules every population rule knows how to evaluate, in the order they are applied.
PERSON_RULE_IDS: Final = ("deceased", "deregistered", "palliative_care", "care_home")


@dataclass(frozen=True)
class PersonRule:
    """A reason to treat a whole person differently, and what it does to the register and the lists."""

    id: str
    name: str
    kind: PersonRuleKind
    register: Effect
    worklists: Effect
    codes: frozenset[Code] = frozenset()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExclusionRules:
    ignored_everywhere: tuple[str, ...]
    ignored_for_register: tuple[str, ...]
    #: condition id -> codes that end it when recorded on or after its latest diagnosis code.
    resolved_codes: dict[str, frozenset[Code]]
    person_rules: tuple[PersonRule, ...]
    missing_clinical_status: Literal["active"] = "active"
    version: str = ""
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def person_rule(self, rule_id: str) -> PersonRule:
        return next(r for r in self.person_rules if r.id == rule_id)


@functools.lru_cache(maxsize=4)
def _load(file: Path) -> ExclusionRules:
    doc = Document(file, "careweave.terminology.exclusions/1")
    doc.check_root_keys(("verification_status", "missing_clinical_status", "resolved_codes", "person_rules"))
    sources: dict[str, tuple[str, ...]] = {}

    verification = doc.mapping(doc.root["verification_status"], "verification_status")
    doc.keys(verification, "verification_status", ("ignored_everywhere", "ignored_for_register", "sources"))
    everywhere = doc.string_list(verification, "ignored_everywhere", "verification_status", allow_empty=False)
    register = doc.string_list(verification, "ignored_for_register", "verification_status")
    for status in (*everywhere, *register):
        if status not in VERIFICATION_STATUSES:
            raise doc.error("verification_status", f"{status!r} is not a FHIR verification status")
    sources["verification_status"] = doc.sources(verification, "verification_status")

    missing = doc.mapping(doc.root["missing_clinical_status"], "missing_clinical_status")
    doc.keys(missing, "missing_clinical_status", ("treat_as", "sources"))
    if doc.string(missing, "treat_as", "missing_clinical_status") != "active":
        raise doc.error("missing_clinical_status.treat_as", "only 'active' is supported")
    sources["missing_clinical_status"] = doc.sources(missing, "missing_clinical_status")

    resolved: dict[str, frozenset[Code]] = {}
    for where, entry in doc.records("resolved_codes", ("condition_id", "codes", "sources")):
        condition_id = doc.identifier(entry, "condition_id", where)
        if condition_id in resolved:
            raise doc.error(where, f"duplicate condition_id {condition_id!r}")
        resolved[condition_id] = doc.codes(entry, where)
        sources[f"resolved_codes.{condition_id}"] = doc.sources(entry, where)

    rules: list[PersonRule] = []
    for where, entry in doc.records(
        "person_rules", ("id", "name", "kind", "register", "worklists", "sources"), ("codes",)
    ):
        kind = doc.string(entry, "kind", where)
        if kind not in get_args(PersonRuleKind):
            raise doc.error(f"{where}.kind", f"expected one of {', '.join(get_args(PersonRuleKind))}")
        effects = [doc.string(entry, key, where) for key in ("register", "worklists")]
        for key, effect in zip(("register", "worklists"), effects, strict=True):
            if effect not in get_args(Effect):
                raise doc.error(f"{where}.{key}", "expected 'exclude' or 'keep'")
        codes = doc.codes(entry, where) if kind == "coded" else frozenset()
        if kind != "coded" and "codes" in entry:
            raise doc.error(f"{where}.codes", f"a {kind!r} rule takes no codes")
        rules.append(
            PersonRule(
                id=doc.identifier(entry, "id", where),
                name=doc.string(entry, "name", where),
                kind=kind,  # type: ignore[arg-type]  # checked against PersonRuleKind above
                register=effects[0],  # type: ignore[arg-type]
                worklists=effects[1],  # type: ignore[arg-type]
                codes=codes,
                sources=doc.sources(entry, where),
            )
        )
    if tuple(r.id for r in rules) != PERSON_RULE_IDS:
        raise doc.error("person_rules", f"expected the rules {', '.join(PERSON_RULE_IDS)}, in that order")
    if rules[0].kind != "deceased" or rules[0].register != "exclude" or rules[0].worklists != "exclude":
        raise doc.error("person_rules[0](deceased)", "deceased people are excluded from everything")
    if rules[1].kind != "no_registered_practice":
        raise doc.error("person_rules[1](deregistered)", "expected kind 'no_registered_practice'")
    return ExclusionRules(
        ignored_everywhere=everywhere,
        ignored_for_register=register,
        resolved_codes=resolved,
        person_rules=tuple(rules),
        version=doc.version,
        sources=sources,
    )


def load_exclusions(path: Path | str | None = None) -> ExclusionRules:
    """The reviewed exclusion rules (``data/exclusions.yaml`` unless ``path``), validated and cached."""
    return _load(Path(path) if path is not None else EXCLUSIONS_FILE)
