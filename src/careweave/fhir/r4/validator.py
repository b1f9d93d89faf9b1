"""Validation of a resource against the FHIR R4 definitions (`definitions.json`, generated from the
published StructureDefinitions) and the core invariants.

One walk over the resource reports every problem at once as (code, FHIRPath, message):
- each element's cardinality (min 1 and a list where at most one is allowed, or one where many are),
  including choice groups (`medication[x]`) and a choice sent twice;
- the codes of every element bound with strength `required` (for a CodeableConcept or Coding, at
  least one coding from the value set);
- ele-1 (no empty object, list or null), ext-1 (an extension has a value or extensions, not both),
  unknown modifier extensions (refused: CareWeave understands none), `Coding.system` an absolute URI,
  resource ids of at most 64 characters of `[A-Za-z0-9-.]` (top-level and contained);
- dom-2..5 (contained resources: none nested, each referred to, no versionId/lastUpdated/security),
  ref-1 (a local reference names a contained resource), per-1 (a period does not end before it
  starts), rng-2, qty-3, att-1, and the invariants of the resource types CareWeave models
  (`careweave.fhir.r4.invariants`).
Element types (strings, numbers, date formats, unknown elements) are left to the fhir.resources
models, which run first. Django-free.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, NamedTuple

from careweave.fhir.r4 import invariants

Problem = tuple[str, str, str]
_EMPTY = "ele-1: an element has a value or children (empty or null sent)"  # (OperationOutcome issue code, FHIRPath, message)

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_ABSOLUTE_URI = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)\S+$")
_PRIMITIVES = frozenset(
    [
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    ]
)


class Element(NamedTuple):
    name: str
    type: str
    many: bool
    required: bool
    choice: str
    valueset: str
    children: Definition | None  # a backbone element's own elements
    complex: bool  # not a primitive: its children are checked


class Definition(NamedTuple):
    elements: dict[str, Element]
    required: tuple[str, ...]  # element names, or choice groups "value[x]"
    choices: dict[str, tuple[str, ...]]  # "value[x]" -> its element names


def _definition(rows: list[list[Any]]) -> Definition:
    elements: dict[str, Element] = {}
    choices: dict[str, list[str]] = {}
    required: list[str] = []
    for name, type_, many, minimum, choice, valueset, children in rows:
        elements[name] = Element(
            name,
            type_,
            bool(many),
            bool(minimum),
            choice,
            valueset,
            _definition(children) if children else None,
            type_ not in _PRIMITIVES,
        )
        if choice:
            choices.setdefault(choice, []).append(name)
        key = choice or name
        if minimum and key not in required:
            required.append(key)
    return Definition(elements, tuple(required), {k: tuple(v) for k, v in choices.items()})


@cache
def _definitions() -> tuple[dict[str, Definition], dict[str, frozenset[tuple[str, str]]]]:
    from careweave.fhir.r4 import generate

    if not generate.TARGET.exists():
        if not generate.SOURCE.exists():
            raise RuntimeError(
                f"the FHIR R4 definitions are missing ({generate.TARGET}): run `make install assets`"
            )
        generate.main(["--write"])  # from the installed npm package: nothing is downloaded
    data = json.loads(generate.TARGET.read_text())
    types = {name: _definition(t["elements"]) for name, t in data["types"].items()}
    valuesets = {url: frozenset((s, c) for s, c in codes) for url, codes in data["valuesets"].items()}
    return types, valuesets


def is_resource_type(name: str) -> bool:
    definition = _definitions()[0].get(name)
    return definition is not None and "resourceType" not in definition.elements and name[0].isupper()


def validate(resource: dict[str, Any]) -> list[Problem]:
    """Every problem of a resource, as (issue code, FHIRPath relative to the resource, message)."""
    walker = _Walker(resource)
    walker.resource(resource, "")
    return walker.problems


class _Walker:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.definitions, self.valuesets = _definitions()

    def add(self, code: str, path: str, message: str) -> None:
        self.problems.append((code, path, message))

    def resource(self, resource: dict[str, Any], path: str) -> None:
        name = resource.get("resourceType")
        definition = self.definitions.get(name) if isinstance(name, str) else None
        if definition is None:
            return  # an unknown type is reported by the structural check
        rid = resource.get("id")
        if isinstance(rid, str) and not _ID.match(rid):
            self.add("value", _join(path, "id"), "an id is 1 to 64 of A-Z, a-z, 0-9, '-' and '.'")
        self.complex(resource, definition, path)
        contained = resource.get("contained")
        if isinstance(contained, list):
            self.contained(resource, contained, path)
        try:
            found = list(invariants.check(str(name), resource))
        except (TypeError, AttributeError, ValueError):
            found = []  # an element of the wrong shape: the structural check has named it
        for code, where, message in found:
            self.add(code, _join(path, where) if where else path or str(name), message)

    def contained(self, resource: dict[str, Any], contained: list[Any], path: str) -> None:
        local = _local_references(resource, skip="")  # dom-3: %resource.descendants(), contained too
        for i, inner in enumerate(contained):
            where = f"{_join(path, 'contained')}[{i}]"
            if not isinstance(inner, dict):
                continue
            self.resource(inner, where)
            if inner.get("contained"):
                self.add("invariant", where, "dom-2: a contained resource cannot contain resources")
            meta: dict[str, Any] = inner["meta"] if isinstance(inner.get("meta"), dict) else {}
            if meta.get("versionId") or meta.get("lastUpdated"):
                self.add(
                    "invariant", where, "dom-4: a contained resource has no meta.versionId or lastUpdated"
                )
            if meta.get("security"):
                self.add("invariant", where, "dom-5: a contained resource has no security label")
            cid = inner.get("id")
            refers_back = "#" in _local_references(inner, skip="")
            if cid is not None and f"#{cid}" not in local and not refers_back:
                message = "dom-3: a contained resource is referred to from elsewhere in the resource"
                self.add("invariant", where, message)

    def complex(self, value: dict[str, Any], definition: Definition, path: str) -> None:
        # paths are built only for a problem or a complex child: most elements are primitives
        for key in definition.required:
            if key in definition.choices:
                present = any(_present(value, n) for n in definition.choices[key])
            else:
                present = _present(value, key)
            if not present:
                where = _join(path, f"{key}[x]" if key in definition.choices else key)
                self.add("required", where, "is required (minimum cardinality 1) but missing")
        chosen: dict[str, list[str]] | None = {} if definition.choices else None
        elements = definition.elements
        for key, item in value.items():
            element = elements.get(key)
            if element is None:
                if key.startswith("_") and key[1:] in elements and item in (None, {}, [], ""):
                    self.add("invariant", _join(path, key), _EMPTY)
                continue  # resourceType, a primitive's extensions, or unknown (the structural check)
            if chosen is not None and element.choice:
                chosen.setdefault(element.choice, []).append(key)
            if item is None or item == "" or item == {} or item == []:
                self.add("invariant", _join(path, key), _EMPTY)
            elif element.many:
                if not isinstance(item, list):
                    self.add("structure", _join(path, key), "has cardinality 0..*: send a JSON array")
                elif element.complex or element.valueset:
                    where = _join(path, key)
                    for i, each in enumerate(item):
                        self.element(each, element, f"{where}[{i}]")
                elif None in item or "" in item:
                    self.add("invariant", _join(path, key), _EMPTY)
            elif isinstance(item, list):
                self.add("structure", _join(path, key), "has cardinality 0..1: a single value, not an array")
            elif element.complex or element.valueset:
                self.element(item, element, _join(path, key))
        if chosen:
            for choice, sent in chosen.items():
                if len(sent) > 1:
                    message = f"only one of {', '.join(sent)} may be sent"
                    self.add("structure", _join(path, f"{choice}[x]"), message)
        extensions = value.get("modifierExtension")
        if isinstance(extensions, list):
            for i, extension in enumerate(extensions):
                url = extension.get("url") if isinstance(extension, dict) else None
                self.add(
                    "not-supported",
                    f"{_join(path, 'modifierExtension')}[{i}]",
                    f"unknown modifier extension {url}: it changes the meaning of the element, so it is refused",
                )

    def element(self, item: Any, element: Element, path: str) -> None:
        if item is None or item == {} or item == "":
            self.add("invariant", path, _EMPTY)
            return
        if element.valueset:
            self.binding(item, element, path)
        if not element.complex or not isinstance(item, dict):
            return
        if element.type == "Resource":
            self.resource(item, path)
            return
        if element.children is not None:
            self.complex(item, element.children, path)
            return
        definition = self.definitions.get(element.type)
        if definition is None:
            return
        self.complex(item, definition, path)
        check = _DATATYPE_RULES.get(element.type)
        if check is not None:
            try:
                found = list(check(item, self.root))
            except (TypeError, AttributeError, ValueError):
                found = []  # an element of the wrong shape: the structural check has named it
            for code, message in found:
                self.add(code, path, message)

    def binding(self, item: Any, element: Element, path: str) -> None:
        codes = self.valuesets.get(element.valueset, frozenset())
        allowed = _codes_of(codes)
        if element.type == "code":
            if isinstance(item, str) and item not in allowed:
                self.add("code-invalid", path, _not_in(item, element.valueset, allowed))
            return
        codings: list[Any] = []
        if element.type == "CodeableConcept" and isinstance(item, dict):
            codings = item["coding"] if isinstance(item.get("coding"), list) else []
        elif element.type == "Coding":
            codings = [item]
        pairs = [(_text(c.get("system")), _text(c.get("code"))) for c in codings if isinstance(c, dict)]
        if not any(p in codes for p in pairs):
            shown = ", ".join(f"{s}|{c}" for s, c in pairs) or "no coding"
            self.add("code-invalid", path, f"{shown}: {_not_in('', element.valueset, allowed)}")


@cache
def _codes_of(pairs: frozenset[tuple[str, str]]) -> frozenset[str]:
    return frozenset(c for _, c in pairs)


def _not_in(value: str, valueset: str, allowed: frozenset[str]) -> str:
    listed = ", ".join(sorted(allowed)) if len(allowed) <= 12 else f"{len(allowed)} codes"
    prefix = f"'{value}' is not" if value else "no coding is"
    return f"{prefix} in the required value set {valueset} ({listed})"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _present(value: dict[str, Any], name: str) -> bool:
    return value.get(name) not in (None, [], {}, "") or value.get(f"_{name}") not in (None, [], {})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _local_references(value: Any, skip: str) -> set[str]:
    """Every string starting with '#' in a resource, outside its element `skip` (dom-3 counts
    references, canonicals, uris and urls alike)."""
    found: set[str] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith("#"):
                found.add(item)
        elif isinstance(item, dict):
            stack.extend(inner for key, inner in item.items() if not (key == skip and item is value))
        elif isinstance(item, list):
            stack.extend(item)
    return found


# -- data type invariants (R4 StructureDefinitions of the types) -------------------------------


def _period(item: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if invariants.before(item.get("end"), item.get("start")):
        yield "invariant", "per-1: if present, start shall have a lower value than end"


def _range(item: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, str]]:
    low, high = item.get("low"), item.get("high")
    if isinstance(low, dict) and isinstance(high, dict):
        lv, hv = low.get("value"), high.get("value")
        if isinstance(lv, int | float) and isinstance(hv, int | float) and lv > hv:
            yield "invariant", "rng-2: if present, low SHALL have a lower value than high"


def _quantity(item: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if item.get("code") is not None and not item.get("system"):
        yield "invariant", "qty-3: if a code for the unit is present, the system SHALL also be present"


def _attachment(item: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if item.get("data") is not None and not item.get("contentType"):
        yield "invariant", "att-1: if the Attachment has data, it SHALL have a contentType"


def _coding(item: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, str]]:
    system = item.get("system")
    if isinstance(system, str) and not _ABSOLUTE_URI.match(system):
        yield "value", f"Coding.system '{system}' is not an absolute URI"


def _extension(item: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, str]]:
    has_value = any(k.startswith("value") for k in item)
    if has_value == bool(item.get("extension")):
        yield "invariant", "ext-1: an extension has either extensions or a value[x], not both"


def _reference(item: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, str]]:
    ref = item.get("reference")
    if isinstance(ref, str) and ref.startswith("#") and len(ref) > 1:
        ids = {_text(c.get("id")) for c in root.get("contained") or [] if isinstance(c, dict)}
        if ref[1:] not in ids:
            yield "invariant", f"ref-1: {ref} names no contained resource"


_DATATYPE_RULES: dict[str, Callable[[dict[str, Any], dict[str, Any]], Iterator[tuple[str, str]]]] = {
    "Period": _period,
    "Range": _range,
    "Quantity": _quantity,
    "Attachment": _attachment,
    "Coding": _coding,
    "Extension": _extension,
    "Reference": _reference,
}
