"""Who may see which part of a person's record, as reviewed data: the kinds of organisation a
person's sharing choices name, the parts of the record (and which a person may share or withhold),
the codes that make a resource sensitive, and the parts each role and sector sees without the
person's agreement, each cited (Caldicott principles). Read from ``data/record_sharing.yaml``.
Django-free: ``careweave.governance.consent`` enforces it (ADR 0021)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ._schema import Document
from .loading.conditions import load_condition_library
from .models import Code

RECORD_SHARING_FILE: Final = Path(__file__).resolve().parent / "data" / "record_sharing.yaml"
SCHEMA: Final = "careweave.terminology.record_sharing/1"
SECTORS: Final = frozenset(
    {
        "general-practice",
        "community",
        "acute",
        "mental-health",
        "social-care",
        "voluntary",
        "private",
        "pharmacy",
    }
)


@dataclass(frozen=True)
class OrganisationKind:
    id: str
    name: str
    sectors: frozenset[str]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RecordPart:
    id: str
    name: str
    consentable: bool
    resource_types: frozenset[str]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RoleScope:
    role: str
    parts: frozenset[str]
    own_care_plan_actions_only: bool
    sources: tuple[str, ...]


@dataclass(frozen=True)
class SectorScope:
    kinds: frozenset[str]
    parts: frozenset[str]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RecordSharing:
    kinds: tuple[OrganisationKind, ...]
    parts: tuple[RecordPart, ...]
    sensitive: dict[str, frozenset[Code]]  # part -> codes that put a resource in it
    roles: dict[str, RoleScope]
    sectors: tuple[SectorScope, ...]
    version: str = ""

    @property
    def part_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.parts)

    @property
    def consentable(self) -> frozenset[str]:
        return frozenset(p.id for p in self.parts if p.consentable)

    def kind_of_sector(self, sector: str) -> str | None:
        """The organisation kind a record sector belongs to (None: no kind, e.g. unknown)."""
        return next((k.id for k in self.kinds if sector in k.sectors), None)

    def part_of_type(self, resource_type: str) -> str:
        """A resource's part by its type; a type no part names is a free-text note (the safe side)."""
        return next((p.id for p in self.parts if resource_type in p.resource_types), "notes")

    def part_of(self, resource_type: str, codes: set[Code] | frozenset[Code]) -> str:
        """A resource's part: a sensitive code wins over its type (a diagnosis of HIV is sexual health)."""
        if resource_type not in ("Patient", "RelatedPerson", "Consent"):
            for part, listed in self.sensitive.items():
                if codes & listed:
                    return part
        return self.part_of_type(resource_type)


@functools.lru_cache(maxsize=4)
def _load(file: Path) -> RecordSharing:
    doc = Document(file, SCHEMA)
    doc.check_root_keys(
        ("organisation_kinds", "record_parts", "sensitive_codes", "role_scopes", "sector_scopes")
    )
    kinds = []
    for path, entry in doc.records("organisation_kinds", ("id", "name", "sectors", "sources")):
        sectors = doc.string_list(entry, "sectors", path, allow_empty=False)
        unknown = sorted(set(sectors) - SECTORS)
        if unknown:
            raise doc.error(f"{path}.sectors", f"unknown sector(s): {', '.join(unknown)}")
        kinds.append(
            OrganisationKind(
                id=doc.string(entry, "id", path),
                name=doc.string(entry, "name", path),
                sectors=frozenset(sectors),
                sources=doc.sources(entry, path),
            )
        )
    parts = []
    for path, entry in doc.records(
        "record_parts", ("id", "name", "consentable", "resource_types", "sources")
    ):
        parts.append(
            RecordPart(
                id=doc.string(entry, "id", path),
                name=doc.string(entry, "name", path),
                consentable=doc.boolean(entry, "consentable", path),
                resource_types=frozenset(doc.string_list(entry, "resource_types", path)),
                sources=doc.sources(entry, path),
            )
        )
    part_ids = {p.id for p in parts}
    library = {c.id: c for c in load_condition_library().conditions}
    sensitive: dict[str, frozenset[Code]] = {}
    for path, entry in doc.records("sensitive_codes", ("id", "codes", "sources"), ("conditions",)):
        part = doc.string(entry, "id", path)
        if part not in part_ids:
            raise doc.error(f"{path}.id", f"{part!r} is not a record part")
        codes = set(doc.codes(entry, path))
        for condition in doc.string_list(entry, "conditions", path):
            if condition not in library:
                raise doc.error(f"{path}.conditions", f"{condition!r} is not in the condition library")
            codes |= library[condition].codes
        doc.sources(entry, path)
        sensitive[part] = frozenset(codes)

    def _parts(entry: dict[str, Any], path: str) -> frozenset[str]:
        if entry.get("parts") == "all":
            return frozenset(part_ids)
        listed = set(doc.string_list(entry, "parts", path, allow_empty=False))
        if listed - part_ids:
            raise doc.error(f"{path}.parts", f"unknown part(s): {', '.join(sorted(listed - part_ids))}")
        return frozenset(listed)

    roles: dict[str, RoleScope] = {}
    for path, entry in doc.entries("role_scopes"):
        doc.keys(entry, path, ("role", "parts", "sources"), ("own_care_plan_actions_only",))
        role = doc.string(entry, "role", path)
        roles[role] = RoleScope(
            role=role,
            parts=_parts(entry, path),
            own_care_plan_actions_only=bool(entry.get("own_care_plan_actions_only", False)),
            sources=doc.sources(entry, path),
        )
    kind_ids = {k.id for k in kinds}
    scopes: list[SectorScope] = []
    for path, entry in doc.entries("sector_scopes"):
        doc.keys(entry, path, ("kinds", "parts", "sources"))
        named = frozenset(doc.string_list(entry, "kinds", path, allow_empty=False))
        if named - kind_ids:
            raise doc.error(
                f"{path}.kinds", f"unknown organisation kind(s): {', '.join(sorted(named - kind_ids))}"
            )
        scopes.append(SectorScope(kinds=named, parts=_parts(entry, path), sources=doc.sources(entry, path)))
    return RecordSharing(
        kinds=tuple(kinds),
        parts=tuple(parts),
        sensitive=sensitive,
        roles=roles,
        sectors=tuple(scopes),
        version=doc.version,
    )


def load_record_sharing(file: Path | str | None = None) -> RecordSharing:
    """The reviewed record-sharing rules (cached per file)."""
    return _load(Path(file) if file is not None else RECORD_SHARING_FILE)
