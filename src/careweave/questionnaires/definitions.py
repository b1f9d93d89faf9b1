"""Questionnaire definitions: a FHIR R4 Questionnaire read into typed, immutable objects, refused
(naming the file and the element) when it lacks a licence or a source, or uses what we cannot score.

What a definition must carry, beyond FHIR R4:
- `copyright` and the extension `questionnaire-licence`: the licence under which it may be used here
  (CareWeave ships only openly licensed instruments; an organisation loading a licensed one says which
  licence it holds);
- the extension `questionnaire-source`: where the instrument comes from (a citation);
- the extension `questionnaire-validated` (boolean): whether it is a validated instrument;
- optionally `questionnaire-interval-days`: how often it is asked again (default 365).

Scoring follows FHIR SDC: each answer option's weight is the `ordinalValue` extension on the option;
a score item is a read-only integer or decimal item with `sdc-questionnaire-calculatedExpression`.
Only two FHIRPath forms are evaluated (refused otherwise, at load):
`%resource.repeat(item).answer.value.ordinal().sum()` and
`%resource.repeat(item).where(linkId in ('a' | 'b')).answer.value.ordinal().sum()`.
Items carrying `sdc-questionnaire-observationExtract` and a `code` become Observations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

CW: Final = "https://fhir.careweave.org/StructureDefinition/"
LICENCE_URL: Final = CW + "questionnaire-licence"
SOURCE_URL: Final = CW + "questionnaire-source"
VALIDATED_URL: Final = CW + "questionnaire-validated"
INTERVAL_URL: Final = CW + "questionnaire-interval-days"
ORDINAL_URLS: Final = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
)
EXTRACT_URL: Final = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationExtract"
CALCULATED_URL: Final = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
MIN_URL: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_URL: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"

#: item type -> the answer's value[x] it takes (None: takes no answer)
ANSWER_TYPES: Final[dict[str, str | None]] = {
    "group": None,
    "display": None,
    "boolean": "valueBoolean",
    "decimal": "valueDecimal",
    "integer": "valueInteger",
    "date": "valueDate",
    "dateTime": "valueDateTime",
    "string": "valueString",
    "text": "valueString",
    "choice": "valueCoding",
}
SUM_ALL: Final = "%resource.repeat(item).answer.value.ordinal().sum()"
SUM_SOME: Final = re.compile(
    r"^%resource\.repeat\(item\)\.where\(linkId in \((?P<ids>'[^']+'(?:\s*\|\s*'[^']+')*)\)\)"
    r"\.answer\.value\.ordinal\(\)\.sum\(\)$"
)
DEFAULT_INTERVAL_DAYS: Final = 365


class DefinitionError(ValueError):
    """A definition refused: `where` names the file, `field` the element."""

    def __init__(self, where: str, field: str, message: str) -> None:
        super().__init__(f"{where}: {field}: {message}")
        self.where = where
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Option:
    system: str
    code: str
    display: str
    ordinal: float | None


@dataclass(frozen=True)
class Item:
    link_id: str
    type: str
    text: str
    required: bool
    repeats: bool
    read_only: bool
    options: tuple[Option, ...]
    code: dict[str, str] | None  # the first coding of `code`: the Observation's code
    extract: bool
    sums: tuple[str, ...] | None  # a score item: the linkIds it sums (() = all)
    min_value: float | None
    max_value: float | None
    items: tuple[Item, ...]

    @property
    def value_key(self) -> str | None:
        return ANSWER_TYPES[self.type]

    def option(self, coding: Any) -> Option | None:
        if not isinstance(coding, dict):
            return None
        return next(
            (
                o
                for o in self.options
                if o.code == coding.get("code")
                and (not coding.get("system") or o.system == coding.get("system"))
            ),
            None,
        )


@dataclass(frozen=True)
class Definition:
    url: str
    version: str
    logical_id: str
    name: str
    title: str
    status: str
    licence: str
    source: str
    validated: bool
    interval_days: int
    items: tuple[Item, ...]
    body: dict[str, Any]

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}" if self.version else self.url

    def walk(self) -> list[Item]:
        found: list[Item] = []

        def visit(items: tuple[Item, ...]) -> None:
            for item in items:
                found.append(item)
                visit(item.items)

        visit(self.items)
        return found

    def item(self, link_id: str) -> Item | None:
        return next((i for i in self.walk() if i.link_id == link_id), None)


def _extension(holder: dict[str, Any], url: str) -> dict[str, Any] | None:
    for ext in holder.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


def _number(ext: dict[str, Any] | None) -> float | None:
    if ext is None:
        return None
    for key in ("valueInteger", "valueDecimal"):
        if isinstance(ext.get(key), (int, float)) and not isinstance(ext.get(key), bool):
            return float(ext[key])
    return None


def _sums(item: dict[str, Any], where: str, path: str) -> tuple[str, ...] | None:
    ext = _extension(item, CALCULATED_URL)
    if ext is None:
        return None
    expression = (ext.get("valueExpression") or {}).get("expression", "")
    if expression == SUM_ALL:
        return ()
    match = SUM_SOME.match(expression or "")
    if match is None:
        raise DefinitionError(
            where,
            f"{path}.extension(calculatedExpression)",
            f"only the sum of answer ordinals is evaluated ({SUM_ALL}, or with .where(linkId in (...))); "
            f"got {expression!r}",
        )
    return tuple(re.findall(r"'([^']+)'", match.group("ids")))


def _item(raw: Any, where: str, path: str, seen: set[str]) -> Item:
    if not isinstance(raw, dict):
        raise DefinitionError(where, path, "an item must be an object")
    link_id = raw.get("linkId")
    if not isinstance(link_id, str) or not link_id:
        raise DefinitionError(where, f"{path}.linkId", "every item needs a linkId")
    if link_id in seen:
        raise DefinitionError(where, f"{path}.linkId", f"linkId '{link_id}' is used twice")
    seen.add(link_id)
    kind = raw.get("type")
    if kind not in ANSWER_TYPES:
        raise DefinitionError(
            where,
            f"{path}.type",
            f"item '{link_id}': type {kind!r} is not supported ({', '.join(ANSWER_TYPES)})",
        )
    options = []
    for n, option in enumerate(raw.get("answerOption") or []):
        coding = option.get("valueCoding") if isinstance(option, dict) else None
        if not isinstance(coding, dict) or not coding.get("code"):
            raise DefinitionError(
                where,
                f"{path}.answerOption[{n}]",
                f"item '{link_id}': each answer option needs a valueCoding with a code",
            )
        ordinal = next(
            (
                _number(_extension(coding, u) or _extension(option, u))
                for u in ORDINAL_URLS
                if _extension(coding, u) or _extension(option, u)
            ),
            None,
        )
        options.append(
            Option(
                str(coding.get("system", "")),
                str(coding["code"]),
                str(coding.get("display", coding["code"])),
                ordinal,
            )
        )
    if kind == "choice" and not options:
        raise DefinitionError(where, f"{path}.answerOption", f"choice item '{link_id}' has no answer options")
    codings = (raw.get("code") or [None])[0]
    code = (
        {"system": codings.get("system", ""), "code": codings["code"], "display": codings.get("display", "")}
        if (isinstance(codings, dict) and codings.get("code"))
        else None
    )
    extract_ext = _extension(raw, EXTRACT_URL)
    extract = bool(extract_ext and extract_ext.get("valueBoolean"))
    if extract and code is None:
        raise DefinitionError(
            where, f"{path}.code", f"item '{link_id}' is extracted as an Observation but has no code"
        )
    sums = _sums(raw, where, path)
    if sums is not None and kind not in ("integer", "decimal"):
        raise DefinitionError(where, f"{path}.type", f"score item '{link_id}' must be integer or decimal")
    children = tuple(
        _item(child, where, f"{path}.item[{n}]", seen) for n, child in enumerate(raw.get("item") or [])
    )
    return Item(
        link_id=link_id,
        type=kind,
        text=str(raw.get("text") or ""),
        required=bool(raw.get("required")),
        repeats=bool(raw.get("repeats")),
        read_only=bool(raw.get("readOnly")) or sums is not None,
        options=tuple(options),
        code=code,
        extract=extract,
        sums=sums,
        min_value=_number(_extension(raw, MIN_URL)),
        max_value=_number(_extension(raw, MAX_URL)),
        items=children,
    )


def _text_extension(body: dict[str, Any], url: str) -> str:
    ext = _extension(body, url)
    value = ext.get("valueString") or ext.get("valueMarkdown") if ext else None
    return value.strip() if isinstance(value, str) else ""


def parse_questionnaire(body: Any, *, where: str) -> Definition:
    """A Questionnaire as a `Definition`, or `DefinitionError` naming `where` (the file) and the element."""
    if not isinstance(body, dict) or body.get("resourceType") != "Questionnaire":
        raise DefinitionError(where, "resourceType", "must be a FHIR R4 Questionnaire")
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise DefinitionError(where, "Questionnaire.url", "a Questionnaire needs a canonical url")
    licence = _text_extension(body, LICENCE_URL)
    if not licence or not str(body.get("copyright") or "").strip():
        raise DefinitionError(
            where,
            "Questionnaire.copyright / extension(questionnaire-licence)",
            "say under which licence it may be used here (CareWeave ships only openly licensed instruments)",
        )
    source = _text_extension(body, SOURCE_URL)
    if not source:
        raise DefinitionError(
            where, "Questionnaire.extension(questionnaire-source)", "cite the instrument's source"
        )
    validated_ext = _extension(body, VALIDATED_URL)
    if validated_ext is None or not isinstance(validated_ext.get("valueBoolean"), bool):
        raise DefinitionError(
            where,
            "Questionnaire.extension(questionnaire-validated)",
            "say whether it is a validated instrument",
        )
    status = body.get("status")
    if status not in ("draft", "active", "retired", "unknown"):
        raise DefinitionError(where, "Questionnaire.status", "must be draft, active, retired or unknown")
    raw_items = body.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        raise DefinitionError(where, "Questionnaire.item", "a Questionnaire needs at least one item")
    seen: set[str] = set()
    items = tuple(_item(raw, where, f"Questionnaire.item[{n}]", seen) for n, raw in enumerate(raw_items))
    for item in _all(items):
        for link_id in item.sums or ():
            if link_id not in seen:
                raise DefinitionError(
                    where, "calculatedExpression", f"score '{item.link_id}' sums unknown item '{link_id}'"
                )
    interval = _number(_extension(body, INTERVAL_URL))
    logical_id = str(body.get("id") or re.sub(r"[^A-Za-z0-9\-.]", "-", url.rstrip("/").rsplit("/", 1)[-1]))[
        :64
    ]
    return Definition(
        url=url,
        version=str(body.get("version") or ""),
        logical_id=logical_id,
        name=str(body.get("name") or ""),
        title=str(body.get("title") or body.get("name") or url),
        status=status,
        licence=licence,
        source=source,
        validated=bool(validated_ext["valueBoolean"]),
        interval_days=int(interval) if interval else DEFAULT_INTERVAL_DAYS,
        items=items,
        body=body,
    )


def _all(items: tuple[Item, ...]) -> list[Item]:
    out: list[Item] = []
    for item in items:
        out.append(item)
        out.extend(_all(item.items))
    return out
