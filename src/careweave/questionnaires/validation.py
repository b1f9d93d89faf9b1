"""A QuestionnaireResponse checked against its Questionnaire, and scored.

Every problem is an `Issue` (FHIR OperationOutcome) whose expression names the item by its linkId
(`QuestionnaireResponse.item.where(linkId='priorities').answer[0]`), so a form can show it beside the
question; a response with any problem is refused as a whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from careweave.fhir.outcome import Issue
from careweave.questionnaires.definitions import Definition, Item

FINAL_STATUSES: Final = ("completed", "amended")


def where(link_id: str, rest: str = "") -> str:
    return f"QuestionnaireResponse.item.where(linkId='{link_id}'){rest}"


def _issue(code: str, message: str, expression: str) -> Issue:
    return Issue("error", code, message, expression=expression)


def _value_ok(item: Item, key: str, value: Any) -> bool:
    if key == "valueBoolean":
        return isinstance(value, bool)
    if key == "valueInteger":
        return isinstance(value, int) and not isinstance(value, bool)
    if key == "valueDecimal":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if key in ("valueDate", "valueDateTime"):
        if not isinstance(value, str):
            return False
        try:
            dt.date.fromisoformat(value[:10])
        except ValueError:
            return False
        return True
    if key == "valueString":
        return isinstance(value, str) and bool(value.strip())
    if key == "valueCoding":
        return isinstance(value, dict) and bool(value.get("code"))
    return False


def _answers(item: Item, given: dict[str, Any], issues: list[Issue]) -> None:
    key = item.value_key
    answers = given.get("answer") or []
    if not isinstance(answers, list):
        issues.append(
            _issue(
                "structure", f"item '{item.link_id}': answer must be a list", where(item.link_id, ".answer")
            )
        )
        return
    if key is None and answers:
        issues.append(
            _issue("invalid", f"item '{item.link_id}' ({item.type}) takes no answer", where(item.link_id))
        )
        return
    if len(answers) > 1 and not item.repeats:
        issues.append(
            _issue(
                "value", f"item '{item.link_id}' takes one answer, got {len(answers)}", where(item.link_id)
            )
        )
    for n, answer in enumerate(answers):
        path = where(item.link_id, f".answer[{n}]")
        values = [k for k in answer if k.startswith("value")] if isinstance(answer, dict) else []
        if key is None or values != [key] or not _value_ok(item, key, answer[key]):
            got = ", ".join(values) or "nothing"
            issues.append(
                _issue("value", f"item '{item.link_id}' ({item.type}) needs a {key} answer; got {got}", path)
            )
            continue
        value = answer[key]
        if item.type == "choice" and item.option(value) is None:
            allowed = ", ".join(o.code for o in item.options)
            issues.append(
                _issue(
                    "value",
                    f"item '{item.link_id}': '{value.get('code')}' is not one of its answer options ({allowed})",
                    path + ".valueCoding",
                )
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if item.min_value is not None and value < item.min_value:
                issues.append(
                    _issue("value", f"item '{item.link_id}': {value} is below {item.min_value:g}", path)
                )
            if item.max_value is not None and value > item.max_value:
                issues.append(
                    _issue("value", f"item '{item.link_id}': {value} is above {item.max_value:g}", path)
                )


def _check_items(
    defined: tuple[Item, ...], given: Any, path: str, issues: list[Issue], found: dict[str, dict[str, Any]]
) -> None:
    if not isinstance(given, list):
        issues.append(_issue("structure", "item must be a list", path))
        return
    known = {i.link_id: i for i in defined}
    for n, raw in enumerate(given):
        link_id = raw.get("linkId") if isinstance(raw, dict) else None
        if not isinstance(link_id, str) or link_id not in known:
            issues.append(
                _issue(
                    "not-found",
                    f"linkId {link_id!r} is not an item of this Questionnaire here",
                    f"{path}[{n}].linkId",
                )
            )
            continue
        if link_id in found:
            issues.append(_issue("value", f"item '{link_id}' is answered twice", where(link_id)))
            continue
        found[link_id] = raw
        item = known[link_id]
        if item.sums is not None:
            continue  # a score: worked out here, whatever was sent
        _answers(item, raw, issues)
        if item.items or raw.get("item"):
            _check_items(item.items, raw.get("item") or [], where(link_id, ".item"), issues, found)


def _missing(defined: tuple[Item, ...], found: dict[str, dict[str, Any]], issues: list[Issue]) -> None:
    for item in defined:
        answered = found.get(item.link_id)
        if (
            item.required
            and item.sums is None
            and item.value_key is not None
            and not (answered or {}).get("answer")
        ):
            issues.append(
                _issue("required", f"item '{item.link_id}' is required: \"{item.text}\"", where(item.link_id))
            )
        if item.type == "group" and (item.required or answered is not None):
            _missing(item.items, found, issues)


def validate_response(definition: Definition, response: dict[str, Any]) -> list[Issue]:
    """Every problem with `response` against `definition` (none: it may be stored)."""
    issues: list[Issue] = []
    if response.get("status") not in FINAL_STATUSES:
        issues.append(
            _issue(
                "value",
                "status must be completed (or amended) to be stored and scored",
                "QuestionnaireResponse.status",
            )
        )
    found: dict[str, dict[str, Any]] = {}
    _check_items(definition.items, response.get("item") or [], "QuestionnaireResponse.item", issues, found)
    _missing(definition.items, found, issues)
    return issues


@dataclass(frozen=True)
class Answered:
    """One answered item, as the Observation extract needs it."""

    item: Item
    value_key: str
    value: Any


def answered_items(definition: Definition, response: dict[str, Any]) -> list[Answered]:
    """The first answer of each answered item (the response already validated)."""
    out: list[Answered] = []

    def visit(given: list[Any]) -> None:
        for raw in given:
            item = definition.item(raw.get("linkId", ""))
            if item is None:
                continue
            answers = raw.get("answer") or []
            if item.value_key and answers and item.sums is None:
                out.append(Answered(item, item.value_key, answers[0][item.value_key]))
            visit(raw.get("item") or [])

    visit(response.get("item") or [])
    return out


def scores(definition: Definition, response: dict[str, Any]) -> dict[str, float]:
    """Each score item's value: the sum of the ordinals of the answers it covers (options without an
    ordinal add nothing). A score is only given when every choice item it covers was answered."""
    answered = {a.item.link_id: a for a in answered_items(definition, response)}
    out: dict[str, float] = {}
    for item in definition.walk():
        if item.sums is None:
            continue
        covered = [
            i
            for i in definition.walk()
            if i.type == "choice" and i.sums is None and (not item.sums or i.link_id in item.sums)
        ]
        if any(i.link_id not in answered for i in covered):
            continue
        total = 0.0
        for i in covered:
            option = i.option(answered[i.link_id].value)
            total += option.ordinal if option is not None and option.ordinal is not None else 0.0
        out[item.link_id] = total
    return out
