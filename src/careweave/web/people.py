"""The people list's own presenters: how it is sorted, and an NHS number found outside the user's care."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from django.db.models import QuerySet

from careweave.record import models as rm
from careweave.ui.format import format_nhs_number


@dataclass(frozen=True)
class PeopleSort:
    """How the people list is ordered (``?sort=``): by name (the default), or by date of birth, either
    way; the column headers are links that flip the order, marked with ``aria-sort``."""

    key: str = "name"
    descending: bool = False

    COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {"name": ("family_name", "given_name"), "born": ("birth_date",)}

    @classmethod
    def from_query(cls, given: str) -> PeopleSort:
        key = given.strip().removeprefix("-")
        if key not in cls.COLUMNS:
            return cls()
        return cls(key, given.strip().startswith("-"))

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key

    @property
    def order_by(self) -> tuple[str, ...]:
        sign = "-" if self.descending else ""
        return (*(sign + column for column in self.COLUMNS[self.key]), "pk")

    def query_string(self, query: str) -> str:
        params = {"q": query} if query else {}
        if self.param != "name":
            params["sort"] = self.param
        return urlencode(params)

    def headers(self, query: str) -> list[Any]:
        """The table's headers: name and date of birth sort (a link that flips the order)."""

        def sortable(text: str, key: str) -> dict[str, Any]:
            current = self.key == key
            flip = PeopleSort(key, not self.descending if current else False)
            state = ("descending" if self.descending else "ascending") if current else "none"
            return {"text": text, "href": "?" + flip.query_string(query), "sort": state}

        return [
            sortable("Name", "name"),
            "NHS number",
            sortable("Date of birth", "born"),
            {"text": "Age", "numeric": True},
            "Registered practice",
            {"text": "Active long-term conditions", "numeric": True},
        ]


@dataclass(frozen=True)
class OutsideCare:
    """An exact NHS number match for someone outside the user's care: break-glass may be offered."""

    pk: int
    nhs_number: str


def outside_care_match(query: str, in_care: QuerySet[rm.Person]) -> OutsideCare | None:
    digits = query.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return None
    found = rm.Person.objects.filter(nhs_number=digits).exclude(pk__in=in_care.values("pk")).first()
    return OutsideCare(found.pk, format_nhs_number(digits)) if found is not None else None
