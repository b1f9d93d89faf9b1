"""The loader of ``social_needs.yaml`` (lives alone, housebound, carer, ...), and the social needs every
feature table carries as columns."""

from __future__ import annotations

import functools
from pathlib import Path

from .._schema import Document
from ..models import Code, SocialNeed
from .common import SOCIAL_NEEDS_FILE, file_path, release_codes

SOCIAL_NEED_FEATURES: tuple[str, ...] = (
    "lives_alone",
    "housebound",
    "is_carer",
    "has_carer",
    "social_care_package",
    "housing_problem",
    "financial_hardship",
    "social_isolation",
)
"""Social needs every feature table carries as true/false columns (in this order), each the id of a
need in ``social_needs.yaml`` (a test holds them to it); further needs in that file add columns."""


@functools.lru_cache(maxsize=8)
def _social_needs(path: Path) -> tuple[SocialNeed, ...]:
    doc = Document(path, "careweave.terminology.social_needs/1")
    doc.check_root_keys(("social_needs",))
    seen: dict[Code, str] = {}
    needs: list[SocialNeed] = []
    for entry_path, entry in doc.records("social_needs", ("id", "name", "codes", "sources"), ("ecl", "note")):
        needs.append(
            SocialNeed(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                codes=release_codes(doc, entry, entry_path, doc.codes(entry, entry_path, seen=seen)),
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(needs)


def load_social_needs(path: Path | str | None = None) -> tuple[SocialNeed, ...]:
    """Social need indicators recorded as coded findings (lives alone, housebound, carer, ...)."""
    return _social_needs(file_path(path, SOCIAL_NEEDS_FILE))
