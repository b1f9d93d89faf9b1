"""The loader of ``accessible_information.yaml``: the Accessible Information Standard and Reasonable
Adjustment Flag needs (SNOMED CT codes, and CareWeave's older local codes) and what each makes a
contact do (channels first, channels never, letter format, carer, interpreter)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .._schema import Document
from ..models import SNOMED, Code
from .common import DATA_DIR, file_path

ACCESSIBLE_INFORMATION_FILE = DATA_DIR / "accessible_information.yaml"
CHANNELS = ("app", "sms", "email", "letter", "phone")
FORMATS = ("large_print", "easy_read", "braille", "audio")
CATEGORIES = ("contact_method", "information_format", "communication_professional", "communication_support")
INTERPRETERS = ("spoken", "bsl")
_OPTIONAL = (
    "codes",
    "local_codes",
    "contact",
    "only",
    "never",
    "format",
    "via_carer",
    "interpreter",
    "double_slot",
    "video_link",
    "staff_task",
)


@dataclass(frozen=True)
class InformationNeed:
    id: str
    name: str
    category: str
    codes: frozenset[Code]
    local_codes: tuple[str, ...]
    contact: tuple[str, ...] = ()
    only: bool = False
    never: tuple[str, ...] = ()
    format: str = ""
    via_carer: bool = False
    interpreter: str = ""
    double_slot: bool = False
    video_link: bool = False
    staff_task: str = ""
    sources: tuple[str, ...] = ()

    @property
    def snomed_codes(self) -> tuple[str, ...]:
        return tuple(sorted(code for system, code in self.codes if system == SNOMED))


@dataclass(frozen=True)
class InformationNeeds:
    needs: tuple[InformationNeed, ...]

    @functools.cached_property
    def by_code(self) -> dict[str, InformationNeed]:
        """Every SNOMED CT and local code to its need."""
        out: dict[str, InformationNeed] = {}
        for need in self.needs:
            for code in (*need.snomed_codes, *need.local_codes):
                out[code] = need
        return out

    def get(self, need_id: str) -> InformationNeed:
        return next(n for n in self.needs if n.id == need_id)

    def of(self, codes: object) -> tuple[InformationNeed, ...]:
        """The needs named by recorded codes (strings, or {"code": ...} mappings); unknown codes are
        ignored here (the summary still shows them as recorded)."""
        found: dict[str, InformationNeed] = {}
        for item in codes if isinstance(codes, list | tuple | set | frozenset) else ():
            code = item.get("code") if isinstance(item, dict) else item
            need = self.by_code.get(str(code or "").strip())
            if need is not None:
                found.setdefault(need.id, need)
        return tuple(found.values())


def _choices(
    doc: Document, entry: dict[str, object], key: str, path: str, allowed: tuple[str, ...]
) -> tuple[str, ...]:
    values = doc.string_list(entry, key, path)
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise doc.error(
            f"{path}.{key}", f"unknown value(s) {', '.join(wrong)} (expected one of {', '.join(allowed)})"
        )
    return values


def _choice(doc: Document, entry: dict[str, object], key: str, path: str, allowed: tuple[str, ...]) -> str:
    value = doc.optional_string(entry, key, path) or ""
    if value and value not in allowed:
        raise doc.error(f"{path}.{key}", f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _flag(doc: Document, entry: dict[str, object], key: str, path: str) -> bool:
    return doc.boolean(entry, key, path) if key in entry else False


@functools.lru_cache(maxsize=8)
def _needs(path: Path) -> InformationNeeds:
    doc = Document(path, "careweave.terminology.accessible_information/1")
    doc.check_root_keys(("needs",))
    seen: dict[Code, str] = {}
    local_seen: dict[str, str] = {}
    needs: list[InformationNeed] = []
    for where, entry in doc.records("needs", ("id", "name", "category", "sources"), _OPTIONAL):
        local = doc.string_list(entry, "local_codes", where)
        for code in local:
            if code in local_seen:
                raise doc.error(
                    f"{where}.local_codes", f"local code {code!r} already listed at {local_seen[code]}"
                )
            local_seen[code] = where
        codes = doc.codes(entry, where, seen=seen, allow_empty=True)
        if not codes and not local:
            raise doc.error(where, "needs at least one SNOMED CT code or local code")
        needs.append(
            InformationNeed(
                id=doc.identifier(entry, "id", where),
                name=doc.string(entry, "name", where),
                category=_choice(doc, entry, "category", where, CATEGORIES),
                codes=codes,
                local_codes=local,
                contact=_choices(doc, entry, "contact", where, CHANNELS),
                only=_flag(doc, entry, "only", where),
                never=_choices(doc, entry, "never", where, CHANNELS),
                format=_choice(doc, entry, "format", where, FORMATS),
                via_carer=_flag(doc, entry, "via_carer", where),
                interpreter=_choice(doc, entry, "interpreter", where, INTERPRETERS),
                double_slot=_flag(doc, entry, "double_slot", where),
                video_link=_flag(doc, entry, "video_link", where),
                staff_task=doc.optional_string(entry, "staff_task", where) or "",
                sources=doc.sources(entry, where),
            )
        )
    return InformationNeeds(tuple(needs))


def load_accessible_information(path: Path | str | None = None) -> InformationNeeds:
    """The Accessible Information Standard needs and their effects on contact (issue 18, item 3)."""
    return _needs(file_path(path, ACCESSIBLE_INFORMATION_FILE))
