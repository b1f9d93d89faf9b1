"""Generate `definitions.json` from the published FHIR R4 (4.0.1) StructureDefinitions and value sets.

The source is the npm package `fhir` (FHIR.js, a devDependency in package.json), whose
`profiles/types.json` is a digest of the R4 `profiles-resources.json` and `profiles-types.json`
(every element's name, type, cardinality, choice group and binding) and whose `profiles/valuesets.json`
holds the expansions of the R4 value sets. Kept: every resource and data type, each element as
`[name, type, many, min, choice, valueset]` with its backbone children, and the codes of each value
set bound with strength `required` whose codes the package lists.

    uv run python -m careweave.fhir.r4.generate --write   # `make assets` does this
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[4]
SOURCE = ROOT / "node_modules" / "fhir" / "profiles"
# Generated at install (`make assets`), never committed: the definitions are HL7's, and reach us
# through the package manager like every other third-party asset.
TARGET = ROOT / ".assets" / "fhir-r4" / "definitions.json"


def _element(prop: dict[str, Any], valuesets: dict[str, Any], bound: dict[str, list[list[str]]]) -> list[Any]:
    valueset = ""
    if prop.get("_valueSetStrength") == "required" and prop.get("_valueSet"):
        url = prop["_valueSet"].split("|")[0]
        systems = valuesets.get(url, {}).get("systems") or []
        codes = [[s.get("uri", ""), c["code"]] for s in systems for c in s.get("codes") or []]
        if codes:
            bound[url] = codes
            valueset = url
    children = [
        _element(child, valuesets, bound)
        for child in prop.get("_properties") or []
        if not child["_name"].startswith("_")
    ]
    return [
        prop["_name"],
        prop["_type"],
        1 if prop.get("_multiple") else 0,
        1 if prop.get("_required") else 0,
        prop.get("_choice", ""),
        valueset,
        children if prop["_type"] in ("BackboneElement", "Element") and children else None,
    ]


def generate(source: Path = SOURCE) -> dict[str, Any]:
    types = json.loads((source / "types.json").read_text())
    valuesets = json.loads((source / "valuesets.json").read_text())
    bound: dict[str, list[list[str]]] = {}
    out: dict[str, Any] = {}
    for name, definition in sorted(types.items()):
        out[name] = {
            "kind": definition.get("_kind", ""),
            "elements": [
                _element(p, valuesets, bound)
                for p in definition.get("_properties") or []
                if not p["_name"].startswith("_")
            ],
        }
    return {
        "source": "npm fhir@4.12.0 profiles (FHIR R4 4.0.1 StructureDefinitions and value sets)",
        "types": out,
        "valuesets": dict(sorted(bound.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write definitions.json (else: check it)")
    args = parser.parse_args(argv)
    text = json.dumps(generate(), separators=(",", ":"), sort_keys=True) + "\n"
    if args.write:
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(text)
        return 0
    if not TARGET.exists() or TARGET.read_text() != text:
        print(f"{TARGET} is out of date: run with --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
