"""A Questionnaire as a staff form, and the form's answers as a QuestionnaireResponse (for the staff
page: completing one with the person on the phone, or from paper)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from careweave.fhir.outcome import Issue
from careweave.questionnaires.definitions import Definition, Item

LINK_ID = re.compile(r"linkId='([^']+)'")


@dataclass
class Question:
    item: Item
    field: str  # the form field's name and id
    value: str = ""
    error: str = ""
    choices: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def field_name(link_id: str) -> str:
    return "q-" + re.sub(r"[^A-Za-z0-9_-]", "_", link_id)


def questions(definition: Definition, data: QueryDict | None = None) -> list[Question]:
    out = []
    for item in definition.walk():
        if item.sums is not None or item.type == "group":
            continue
        name = field_name(item.link_id)
        value = (data.get(name, "") if data is not None else "").strip()
        question = Question(item, name, value)
        if item.type == "choice":
            question.choices = [
                {"value": o.code, "text": o.display, "checked": o.code == value} for o in item.options
            ]
        elif item.type == "boolean":
            question.choices = [
                {"value": "true", "text": "Yes", "checked": value == "true"},
                {"value": "false", "text": "No", "checked": value == "false"},
            ]
        out.append(question)
    return out


def _answer(item: Item, value: str) -> dict[str, Any] | str:
    """The answer, or a message saying what is wrong with the value typed (a form-level problem)."""
    if item.type == "choice":
        option = next((o for o in item.options if o.code == value), None)
        if option is None:
            return {"valueCoding": {"code": value}}  # refused by the validation, naming the item
        return {"valueCoding": {"system": option.system, "code": option.code, "display": option.display}}
    if item.type == "boolean":
        return {"valueBoolean": value == "true"}
    if item.type == "integer":
        return {"valueInteger": int(value)} if re.fullmatch(r"-?\d{1,9}", value) else "Enter a whole number"
    if item.type == "decimal":
        try:
            return {"valueDecimal": float(value)}
        except ValueError:
            return "Enter a number"
    if item.type in ("date", "dateTime"):
        return {"valueDate" if item.type == "date" else "valueDateTime": value}
    return {"valueString": value}


def response_from_form(
    definition: Definition, asked: list[Question], patient_id: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The QuestionnaireResponse the form describes, and any value that is not even the right kind."""
    items, problems = [], {}
    for q in asked:
        if q.item.value_key is None or not q.value:
            continue
        answer = _answer(q.item, q.value)
        if isinstance(answer, str):
            problems[q.item.link_id] = answer
            continue
        items.append({"linkId": q.item.link_id, "text": q.item.text, "answer": [answer]})
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": definition.canonical,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "item": items,
    }
    return response, problems


def errors_by_item(issues: list[Issue]) -> dict[str, str]:
    """The first problem with each item, in words for the person filling in the form."""
    out: dict[str, str] = {}
    for issue in issues:
        found = LINK_ID.search(issue.expression or "") or LINK_ID.search(issue.message)
        key = found.group(1) if found else ""
        if key in out:
            continue
        if issue.code == "required":
            out[key] = "Answer this question"
        elif "not one of its answer options" in issue.message:
            out[key] = "Choose one of the answers"
        else:
            out[key] = issue.message
    return out
