"""The clinical safety case's hazard log (DCB0129), read from its reviewed YAML and written as Markdown.

The YAML (``docs/clinical-safety/hazard-log.yaml``) is the source: it is checked by the same schema
code as the reviewed clinical data. ``docs/clinical-safety/hazard-log.md`` is generated from it, so the
log a clinical safety officer signs and the one the tests check cannot drift apart. Every control
names the test that proves it (``tests/...py::test_name``).

Regenerate after editing the YAML::

    uv run python -m careweave.terminology.hazard_log --write
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._schema import Document

SCHEMA = "careweave.safety.hazard_log/1"
ROOT = Path(__file__).resolve().parents[3]
LOG_DIR = ROOT / "docs" / "clinical-safety"
YAML_PATH = LOG_DIR / "hazard-log.yaml"
MARKDOWN_PATH = LOG_DIR / "hazard-log.md"

FIELDS = ("id", "flag", "hazard", "causes", "effect", "controls", "initial", "residual", "actions", "owner")

# DCB0129 risk matrix: RISK[likelihood][severity - 1], both 1-5 (DCB0129 specification, table 2).
RISK: dict[int, tuple[int, int, int, int, int]] = {
    5: (3, 4, 4, 5, 5),
    4: (2, 3, 3, 4, 5),
    3: (2, 2, 3, 3, 4),
    2: (1, 2, 2, 3, 4),
    1: (1, 1, 2, 2, 3),
}
SEVERITY = {1: "Minor", 2: "Significant", 3: "Considerable", 4: "Major", 5: "Catastrophic"}
LIKELIHOOD = {1: "Very low", 2: "Low", 3: "Medium", 4: "High", 5: "Very high"}
RISK_WORDS = {
    1: "1 (acceptable)",
    2: "2 (acceptable)",
    3: "3 (undesirable)",
    4: "4 (unacceptable)",
    5: "5 (unacceptable)",
}


@dataclass(frozen=True)
class Rating:
    severity: int
    likelihood: int
    risk: int


@dataclass(frozen=True)
class Control:
    control: str
    test: str
    """A pytest node id, ``tests/<path>.py::<test function>``."""


@dataclass(frozen=True)
class Hazard:
    id: str
    flag: str
    hazard: str
    causes: tuple[str, ...]
    effect: str
    controls: tuple[Control, ...]
    initial: Rating
    residual: Rating
    actions: tuple[str, ...]
    owner: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class HazardLog:
    document: Document
    hazards: tuple[Hazard, ...]


def _rating(document: Document, entry: dict[str, Any], key: str, path: str) -> Rating:
    value = document.mapping(entry.get(key), f"{path}.{key}")
    document.keys(value, f"{path}.{key}", ("severity", "likelihood", "risk"))
    severity = document.integer(value, "severity", f"{path}.{key}", minimum=1)
    likelihood = document.integer(value, "likelihood", f"{path}.{key}", minimum=1)
    risk = document.integer(value, "risk", f"{path}.{key}", minimum=1)
    if severity > 5 or likelihood > 5:
        raise document.error(f"{path}.{key}", "severity and likelihood run from 1 to 5")
    if risk != RISK[likelihood][severity - 1]:
        raise document.error(
            f"{path}.{key}.risk",
            f"severity {severity} with likelihood {likelihood} is risk {RISK[likelihood][severity - 1]} "
            f"in the DCB0129 matrix, not {risk}",
        )
    return Rating(severity, likelihood, risk)


def _controls(document: Document, entry: dict[str, Any], path: str) -> tuple[Control, ...]:
    controls: list[Control] = []
    for where, value in document.nested_records(
        entry, "controls", path, what="controls", required=("control", "test")
    ):
        test = document.string(value, "test", where)
        if "::" not in test or not test.startswith("tests/"):
            raise document.error(f"{where}.test", f"expected 'tests/<file>.py::<test>', found {test!r}")
        controls.append(Control(document.string(value, "control", where), test))
    return tuple(controls)


def load(path: Path = YAML_PATH) -> HazardLog:
    """Read and check the hazard log; errors name the file, entry and field."""
    document = Document(path, SCHEMA)
    document.check_root_keys(("hazards",))
    hazards: list[Hazard] = []
    for where, entry in document.records("hazards", (*FIELDS, "sources")):
        document.sources(entry, where)
        initial = _rating(document, entry, "initial", where)
        residual = _rating(document, entry, "residual", where)
        if residual.risk > initial.risk:
            raise document.error(f"{where}.residual", "residual risk is above the initial risk")
        hazards.append(
            Hazard(
                id=document.identifier(entry, "id", where),
                flag=document.string(entry, "flag", where),
                hazard=document.string(entry, "hazard", where),
                causes=document.string_list(entry, "causes", where),
                effect=document.string(entry, "effect", where),
                controls=_controls(document, entry, where),
                initial=initial,
                residual=residual,
                actions=document.string_list(entry, "actions", where, allow_empty=True),
                owner=document.string(entry, "owner", where),
                sources=document.string_list(entry, "sources", where),
            )
        )
    return HazardLog(document, tuple(hazards))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rated(rating: Rating) -> str:
    return (
        f"{SEVERITY[rating.severity]} ({rating.severity}) × {LIKELIHOOD[rating.likelihood]} "
        f"({rating.likelihood}) = risk {RISK_WORDS[rating.risk]}"
    )


def render_markdown(log: HazardLog) -> str:
    """The hazard log as a DCB0129 document: a summary table, then each hazard in full."""
    review = log.document.review
    lines = [
        "# CareWeave hazard log (DCB0129)",
        "",
        "<!-- Generated from hazard-log.yaml by `uv run python -m careweave.terminology.hazard_log --write`;"
        " edit the YAML, not this file. tests/terminology/test_hazard_log.py fails when they differ. -->",
        "",
        f"Version {review.file_version}. Authored by {review.authored_by}. Checked by {review.checked_by}.",
        f"Reviewed {review.date_reviewed}; next review {review.date_next_review}.",
        "",
        "Each automated flag, list and score CareWeave raises about a person, the hazard if it is wrong,",
        "the controls, and the test that proves each control. Severity, likelihood and risk follow the",
        "DCB0129 risk matrix (risk 1-2 acceptable, 3 undesirable, 4-5 unacceptable).",
        "",
        "| Hazard | Flag | Initial risk | Residual risk | Owner |",
        "| --- | --- | --- | --- | --- |",
    ]
    for hazard in log.hazards:
        lines.append(
            f"| [{hazard.id}](#{hazard.id}) | `{hazard.flag}` | {hazard.initial.risk} "
            f"| {hazard.residual.risk} | {_cell(hazard.owner)} |"
        )
    for hazard in log.hazards:
        lines += [
            "",
            f"## {hazard.id}",
            "",
            f"**Flag:** `{hazard.flag}`",
            "",
            f"**Hazard:** {_cell(hazard.hazard)}",
        ]
        lines += ["", "**Causes:**", ""] + [f"- {_cell(cause)}" for cause in hazard.causes]
        lines += [
            "",
            f"**Effect:** {_cell(hazard.effect)}",
            "",
            f"**Initial risk:** {_rated(hazard.initial)}",
        ]
        lines += ["", "| Control | Proved by |", "| --- | --- |"]
        lines += [f"| {_cell(control.control)} | `{control.test}` |" for control in hazard.controls]
        lines += ["", f"**Residual risk:** {_rated(hazard.residual)}", ""]
        if hazard.actions:
            lines += ["**Further actions:**", ""] + [f"- {_cell(action)}" for action in hazard.actions]
        else:
            lines.append("**Further actions:** none open.")
        citations = "; ".join(log.document.references[key] for key in hazard.sources)
        lines += ["", f"**Owner:** {_cell(hazard.owner)}. **Sources:** {_cell(citations)}"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help=f"write {MARKDOWN_PATH.name} beside the YAML")
    parser.add_argument("--check", action="store_true", help="exit 1 when the Markdown is out of date")
    arguments = parser.parse_args(argv)
    text = render_markdown(load())
    if arguments.write:
        MARKDOWN_PATH.write_text(text, encoding="utf-8")
        return 0
    if arguments.check:
        current = MARKDOWN_PATH.read_text(encoding="utf-8") if MARKDOWN_PATH.exists() else ""
        if current != text:
            print(f"{MARKDOWN_PATH} is out of date: run with --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover - command-line entry
    raise SystemExit(main())
