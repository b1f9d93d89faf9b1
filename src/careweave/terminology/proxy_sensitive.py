"""The codes a carer with proxy access never sees (issue 16, ADR 0019), as reviewed data.

Read from ``data/proxy_sensitive.yaml`` with the shared schema checks (:class:`Document`); every
category cites its source. Django-free: ``careweave.portal.sharing`` applies it to the record.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ._schema import Document
from .models import Code

PROXY_SENSITIVE_FILE: Final = Path(__file__).resolve().parent / "data" / "proxy_sensitive.yaml"
SCHEMA: Final = "careweave.terminology.proxy_sensitive/1"


@dataclass(frozen=True)
class SensitiveCategory:
    id: str
    label: str
    codes: frozenset[Code]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ProxySensitive:
    categories: tuple[SensitiveCategory, ...]
    version: str = ""

    @property
    def codes(self) -> frozenset[Code]:
        return frozenset().union(*(category.codes for category in self.categories))

    def category_of(self, system: str, code: str) -> str | None:
        for category in self.categories:
            if (system, code) in category.codes:
                return category.id
        return None


def load_proxy_sensitive(file: Path = PROXY_SENSITIVE_FILE) -> ProxySensitive:
    doc = Document(file, SCHEMA)
    doc.check_root_keys(("categories",))
    seen: dict[Code, str] = {}
    categories = []
    for path, entry in doc.entries("categories"):
        doc.keys(entry, path, ("id", "label", "codes", "sources"))
        categories.append(
            SensitiveCategory(
                id=doc.identifier(entry, "id", path),
                label=doc.string(entry, "label", path),
                codes=doc.codes(entry, path, seen=seen),
                sources=doc.sources(entry, path),
            )
        )
    return ProxySensitive(categories=tuple(categories), version=doc.version)


@functools.lru_cache(maxsize=1)
def proxy_sensitive() -> ProxySensitive:
    """The shipped list, loaded once."""
    return load_proxy_sensitive()
