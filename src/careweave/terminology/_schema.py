"""Schema checks shared by the terminology loaders.

Every data file is a mapping with a review header (``authored_by``, ``checked_by``, ``date_reviewed``,
``date_next_review``), a ``references`` table of full citations, and a list of entries whose
``sources`` name keys of that table. Codes are written ``"<code> |<display>|"`` under a system alias.
Any problem raises ``TerminologyError(file, path, message)``.

Citations are checked on every load (``check_root_keys``), whatever the file: each data block at the
root is cited by its own ``sources``, or each of its entries (the items of a list, the values of a
mapping of entries) is, or the whole file is by a root ``sources``. The few blocks that hold no clinical knowledge (a table's
layout, a numerical method's settings) are named with a reason in ``UNCITED_BLOCKS``, so the
exemption is itself reviewed here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .models import DMD, LOINC, RXNORM, SNOMED, Code, ReviewRecord

SYSTEM_ALIASES: dict[str, str] = {"snomed": SNOMED, "dmd": DMD, "rxnorm": RXNORM, "loinc": LOINC}
_CODE_PATTERN = re.compile(r"^\s*(?P<code>[0-9A-Za-z.\-]+)\s*(?:\|(?P<display>[^|]*)\|)?\s*$")
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_SCTID_PATTERN = re.compile(r"^[1-9][0-9]{5,17}$")
HEADER_KEYS = ("schema", "version", "authored_by", "checked_by", "date_reviewed", "date_next_review")
_NOT_DATA = frozenset({*HEADER_KEYS, "references", "description", "sources"})
_GROUP_KEYS = ("concept", "reason", "sources")
# libyaml when installed (the same safe schema, several times faster on the long code lists).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class CodeGroup:
    """Codes of one concept within an entry (e.g. "asthma with exacerbation"), and why they are there.

    Used for an entry's ``code_groups`` (codes it matches, beyond its flat ``codes``) and for
    ``left_out`` (codes a reference set counts that the entry deliberately does not, with the reason).
    """

    concept: str
    reason: str
    codes: frozenset[Code]
    sources: tuple[str, ...] = ()

UNCITED_BLOCKS: dict[str, dict[str, str]] = {
    "careweave.synth.population/1": {
        "prevalence_bands": "the age bands the cited prevalence tables are laid out on",
        "calibration": "settings of the numerical method that fits intercepts to the cited prevalence",
    },
    "careweave.population.lay_phrases/1": {
        "source": "the one-line citation shown beside descriptions (summarising `references`)",
    },
}
"""Per schema, root blocks that need no citation because they hold no clinical knowledge, and why."""


class TerminologyError(ValueError):
    """A terminology data file breaks its schema. ``path`` is the location inside the file."""

    def __init__(self, file: str | Path, path: str, message: str) -> None:
        self.file = str(file)
        self.path = path
        self.message = message
        super().__init__(f"{Path(file).name}: {path}: {message}")


class Document:
    """A parsed data file plus the context needed to report errors against it."""

    def __init__(self, file: Path, expected_schema: str | None) -> None:
        """Parse ``file`` and check its header, references and citations.

        ``expected_schema`` is the schema line the caller reads; ``None`` accepts any ``careweave.``
        schema (for checks over every data file, which have no file-specific loader).
        """
        self.file = file
        try:
            raw_bytes = file.read_bytes()
        except OSError as error:
            raise TerminologyError(file, "<file>", f"cannot read: {error}") from error
        self.content_hash = hashlib.sha256(raw_bytes).hexdigest()[:12]
        try:
            loaded = yaml.load(raw_bytes, Loader=_YAML_LOADER)
        except yaml.YAMLError as error:
            raise TerminologyError(file, "<file>", f"not valid YAML: {error}") from error
        self.root = self.mapping(loaded, "<root>")
        schema = self.string(self.root, "schema", "<root>")
        if expected_schema is None:
            if not re.fullmatch(r"careweave\.[a-z_.]+/[0-9]+", schema):
                raise TerminologyError(file, "schema", f"expected 'careweave.<area>.<name>/<n>', found {schema!r}")
        elif schema != expected_schema:
            raise TerminologyError(file, "schema", f"expected {expected_schema!r}, found {schema!r}")
        self.schema = schema
        self.review = self._review()
        self.references = self._references()

    @property
    def version(self) -> str:
        return f"{self.review.file_version}+{self.content_hash}"

    def error(self, path: str, message: str) -> TerminologyError:
        return TerminologyError(self.file, path, message)

    # -- structural checks -------------------------------------------------------------------------

    def mapping(self, value: object, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, found {type(value).__name__}")
        return value

    def keys(
        self, entry: Mapping[str, Any], path: str, required: Sequence[str], optional: Sequence[str] = ()
    ) -> None:
        missing = [key for key in required if key not in entry]
        if missing:
            raise self.error(path, f"missing required field(s): {', '.join(missing)}")
        unknown = sorted(set(entry) - set(required) - set(optional))
        if unknown:
            raise self.error(path, f"unknown field(s): {', '.join(map(str, unknown))}")

    def string(self, entry: Mapping[str, Any], key: str, path: str, *, nullable: bool = False) -> str:
        value = entry.get(key)
        if value is None and nullable:
            return ""
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{path}.{key}", "expected a non-empty string")
        return value.strip()

    def optional_string(self, entry: Mapping[str, Any], key: str, path: str) -> str | None:
        if entry.get(key) is None:
            return None
        return self.string(entry, key, path)

    def identifier(self, entry: Mapping[str, Any], key: str, path: str) -> str:
        value = self.string(entry, key, path)
        if not _ID_PATTERN.match(value):
            raise self.error(f"{path}.{key}", f"{value!r} is not a snake_case identifier")
        return value

    def integer(self, entry: Mapping[str, Any], key: str, path: str, *, minimum: int = 0) -> int:
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.error(f"{path}.{key}", f"expected an integer >= {minimum}, found {value!r}")
        return value

    def optional_integer(
        self, entry: Mapping[str, Any], key: str, path: str, *, minimum: int = 0
    ) -> int | None:
        if entry.get(key) is None:
            return None
        return self.integer(entry, key, path, minimum=minimum)

    def boolean(self, entry: Mapping[str, Any], key: str, path: str) -> bool:
        value = entry.get(key)
        if not isinstance(value, bool):
            raise self.error(f"{path}.{key}", f"expected true or false, found {value!r}")
        return value

    def string_list(
        self, entry: Mapping[str, Any], key: str, path: str, *, allow_empty: bool = True
    ) -> tuple[str, ...]:
        value = entry.get(key, [])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise self.error(f"{path}.{key}", "expected a list of non-empty strings")
        if not value and not allow_empty:
            raise self.error(f"{path}.{key}", "must not be empty")
        if len(set(value)) != len(value):
            duplicates = sorted({item for item in value if value.count(item) > 1})
            raise self.error(f"{path}.{key}", f"duplicate value(s): {', '.join(duplicates)}")
        return tuple(item.strip() for item in value)

    def entries(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """The list under ``key`` in the root, each with its error path, ids unique."""
        value = self.root.get(key)
        if not isinstance(value, list) or not value:
            raise self.error(key, "expected a non-empty list")
        result: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        for index, item in enumerate(value):
            entry = self.mapping(item, f"{key}[{index}]")
            label = entry.get("id") or entry.get("condition_id")
            path = f"{key}[{index}]" + (f"({label})" if isinstance(label, str) else "")
            if "id" in entry:
                if entry["id"] in seen:
                    raise self.error(path, f"duplicate id {entry['id']!r}")
                seen.add(str(entry["id"]))
            result.append((path, entry))
        return result

    def records(
        self, key: str, required: Sequence[str], optional: Sequence[str] = ()
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The entries under ``key`` in the root (see ``entries``), each checked in turn to have the
        ``required`` fields and none but those and the ``optional`` ones."""
        for path, entry in self.entries(key):
            self.keys(entry, path, required, optional)
            yield path, entry

    def nested_records(
        self,
        entry: Mapping[str, Any],
        key: str,
        path: str,
        *,
        what: str,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The non-empty list of mappings (``what``, named in the error) under ``key`` in an entry,
        each with its error path and checked as ``records`` checks the root's entries."""
        raw = entry.get(key)
        if not isinstance(raw, list) or not raw:
            raise self.error(f"{path}.{key}", f"expected a non-empty list of {what}")
        for index, item in enumerate(raw):
            where = f"{path}.{key}[{index}]"
            value = self.mapping(item, where)
            self.keys(value, where, required, optional)
            yield where, value

    # -- citations and codes -----------------------------------------------------------------------

    def sources(self, entry: Mapping[str, Any], path: str, key: str = "sources") -> tuple[str, ...]:
        """Resolve citation keys to full citations; a rule without a citation is a defect."""
        if key not in entry:
            raise self.error(path, f"missing required field(s): {key} (every entry must cite its source)")
        keys = self.string_list(entry, key, path, allow_empty=False)
        unknown = [item for item in keys if item not in self.references]
        if unknown:
            raise self.error(f"{path}.{key}", f"unknown reference(s): {', '.join(unknown)}")
        return tuple(self.references[item] for item in keys)

    def codes(
        self,
        entry: Mapping[str, Any],
        path: str,
        key: str = "codes",
        *,
        seen: dict[Code, str] | None = None,
        allow_empty: bool = False,
    ) -> frozenset[Code]:
        """Codes written as ``{system_alias: ["<code> |<display>|", ...]}``; duplicates are errors.

        ``seen`` tracks codes across the entries of a file where a code may belong to one entry only.
        """
        value = entry.get(key)
        if value is None and allow_empty:
            return frozenset()
        by_system = self.mapping(value, f"{path}.{key}")
        codes: set[Code] = set()
        self._add_codes(by_system, f"{path}.{key}", path, codes, seen)
        if not codes and not allow_empty:
            raise self.error(f"{path}.{key}", "must list at least one code")
        return frozenset(codes)

    def _add_codes(
        self,
        by_system: Mapping[str, Any],
        where: str,
        owner_path: str,
        codes: set[Code],
        seen: dict[Code, str] | None,
        skip: Sequence[str] = (),
    ) -> None:
        """Add ``{system_alias: ["<code> |<display>|", ...]}`` to ``codes``; duplicates are errors."""
        for alias, items in by_system.items():
            if alias in skip:
                continue
            system = SYSTEM_ALIASES.get(alias)
            if system is None:
                known = ", ".join(SYSTEM_ALIASES)
                raise self.error(f"{where}.{alias}", f"unknown code system (expected one of {known})")
            if not isinstance(items, list):
                raise self.error(f"{where}.{alias}", "expected a list of codes")
            for index, item in enumerate(items):
                item_path = f"{where}.{alias}[{index}]"
                text = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
                match = _CODE_PATTERN.match(text) if isinstance(text, str) else None
                if match is None:
                    raise self.error(item_path, f"expected '<code> |<display>|', found {item!r}")
                code = match.group("code")
                if system == SNOMED and not _SCTID_PATTERN.match(code):
                    raise self.error(item_path, f"{code!r} is not a SNOMED CT identifier")
                pair = (system, code)
                if pair in codes:
                    raise self.error(item_path, f"duplicate code {code} ({alias})")
                if seen is not None:
                    owner = seen.get(pair)
                    if owner is not None and owner != owner_path:
                        raise self.error(
                            item_path, f"duplicate code {code} ({alias}): already listed at {owner}"
                        )
                    seen[pair] = owner_path
                codes.add(pair)

    def code_groups(
        self,
        entry: Mapping[str, Any],
        path: str,
        key: str = "code_groups",
        *,
        seen: dict[Code, str] | None = None,
        taken: frozenset[Code] = frozenset(),
    ) -> tuple[CodeGroup, ...]:
        """Codes grouped by concept, each group with the reason for it (see ``CodeGroup``).

        Written ``[{concept: ..., reason: ..., sources: [...]?, snomed: ["<code> |<display>|", ...]}]``.
        A code may appear once across ``taken`` (the entry's flat ``codes``) and all the groups;
        ``seen`` works as for ``codes``. The key is optional: no groups is an empty tuple.
        """
        value = entry.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(
                f"{path}.{key}", "expected a list of groups ({concept, reason, <system>: [...]})"
            )
        codes: set[Code] = set(taken)
        groups: list[CodeGroup] = []
        concepts: set[str] = set()
        for index, item in enumerate(value):
            group = self.mapping(item, f"{path}.{key}[{index}]")
            concept = group.get("concept")
            where = f"{path}.{key}[{index}]" + (f"({concept})" if isinstance(concept, str) else "")
            systems = [name for name in group if name not in _GROUP_KEYS]
            self.keys(group, where, ("concept", "reason"), (*systems, "sources"))
            concept_text = self.string(group, "concept", where)
            if concept_text in concepts:
                raise self.error(f"{where}.concept", f"duplicate concept {concept_text!r}")
            concepts.add(concept_text)
            if not systems:
                raise self.error(where, "must list at least one code (under a code system, e.g. snomed)")
            before = set(codes)
            self._add_codes(group, where, path, codes, seen, skip=_GROUP_KEYS)
            added = frozenset(codes - before)
            if not added:
                raise self.error(where, "must list at least one code")
            groups.append(
                CodeGroup(
                    concept=concept_text,
                    reason=self.string(group, "reason", where),
                    codes=added,
                    sources=self.sources(group, where) if "sources" in group else (),
                )
            )
        return tuple(groups)

    def grouped_codes(
        self,
        entry: Mapping[str, Any],
        path: str,
        *,
        seen: dict[Code, str] | None = None,
        allow_empty: bool = False,
    ) -> frozenset[Code]:
        """An entry's flat ``codes`` (the core concept: at least one code unless ``allow_empty``) plus
        its ``code_groups``: the codes it matches."""
        flat = self.codes(entry, path, seen=seen, allow_empty=allow_empty)
        grouped = self.code_groups(entry, path, seen=seen, taken=flat)
        return flat.union(*(group.codes for group in grouped))

    # -- header ------------------------------------------------------------------------------------

    def _review(self) -> ReviewRecord:
        for key in HEADER_KEYS:
            if key not in self.root:
                raise self.error(key, "missing required header field (every file records its review)")
        for key in ("date_reviewed", "date_next_review"):
            value = self.root[key]
            if not isinstance(value, dt.date):
                try:
                    dt.date.fromisoformat(str(value))
                except ValueError:
                    raise self.error(key, f"expected an ISO date, found {value!r}") from None
        return ReviewRecord(
            file=self.file.name,
            file_version=self.string(self.root, "version", "<root>"),
            authored_by=self.string(self.root, "authored_by", "<root>"),
            checked_by=self.string(self.root, "checked_by", "<root>"),
            date_reviewed=self.string(self.root, "date_reviewed", "<root>"),
            date_next_review=self.string(self.root, "date_next_review", "<root>"),
        )

    def _references(self) -> dict[str, str]:
        references = self.mapping(self.root.get("references"), "references")
        if not references:
            raise self.error("references", "must list at least one reference")
        result: dict[str, str] = {}
        for key, citation in references.items():
            if not isinstance(citation, str) or not citation.strip():
                raise self.error(f"references.{key}", "expected a full citation string")
            result[str(key)] = citation.strip()
        return result

    def check_citations(self) -> None:
        """Every root data block is cited (itself, entry by entry, or by the file); see the module doc."""
        if "sources" in self.root:
            self.sources(self.root, "<root>")
            return
        exempt = UNCITED_BLOCKS.get(self.schema, {})
        for key, value in self.root.items():
            if key in _NOT_DATA or key in exempt:
                continue
            if isinstance(value, dict) and "sources" in value:
                self.sources(value, str(key))
            elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
                for index, item in enumerate(value):
                    label = item.get("id") or item.get("condition_id")
                    path = f"{key}[{index}]" + (f"({label})" if isinstance(label, str) else "")
                    self.sources(item, path)
            elif isinstance(value, dict) and value and all(isinstance(item, dict) for item in value.values()):
                for name, item in value.items():
                    self.sources(item, f"{key}.{name}")
            else:
                raise self.error(
                    str(key), "missing required field(s): sources (every block or entry must cite its source)"
                )

    def check_root_keys(self, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        """The root holds exactly these blocks (besides the header), and every one is cited."""
        self.keys(self.root, "<root>", (*HEADER_KEYS, "references", *required), ("description", *optional))
        self.check_citations()


def validate_reviewed_file(file: Path | str) -> Document:
    """Check any reviewed data file (header, references, a citation for every entry) by its own schema
    line; the file-specific loaders run the same checks (``check_root_keys``) and add their own."""
    document = Document(Path(file), None)
    document.check_citations()
    return document
