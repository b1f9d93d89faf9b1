"""Validation of an entry: its structure and element types (fhir.resources R4B), then the R4
definitions, required bindings, invariants and NHS numbers (careweave.fhir.r4), all issues at once."""

from __future__ import annotations

import re
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from careweave.fhir.imports.unit import Entry, ImportContext
from careweave.fhir.outcome import Issue
from careweave.fhir.r4 import validator as r4
from careweave.terminology.home_readings import reading_problems


def _pydantic_issues(entry: Entry, error: ValidationError, ctx: ImportContext) -> list[Issue]:
    issues = []
    for problem in error.errors()[:20]:
        path = ""
        for part in problem["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part != "__root__":
                path += f".{part}" if path else str(part)
        kind = problem.get("type", "")
        code = "required" if kind == "missing" else "structure" if "extra" in kind else "value"
        message = problem.get("msg", "invalid")
        if kind == "missing":
            message = "is required but missing"
        issues.append(ctx.issue(entry, code, message, path))
    return issues


_JSON_TEXT = re.compile(rb'"\s*[{\[]')


def _json_strings(resource: dict[str, Any], validated: BaseModel) -> list[str]:
    """Paths where fhir.resources accepted a string of JSON for an object or array (it parses such
    strings); the importer reads the resource as sent, where that element is still a string."""
    if not _JSON_TEXT.search(orjson.dumps(resource)):
        return []  # the common case: no string value even starts like JSON
    found: list[str] = []
    stack: list[tuple[Any, Any, str]] = [(resource, validated, "")]
    while stack:
        raw, model, path = stack.pop()
        if isinstance(raw, list) and isinstance(model, list):
            stack.extend((r, m, f"{path}[{i}]") for i, (r, m) in enumerate(zip(raw, model, strict=False)))
        elif isinstance(raw, str) and isinstance(model, BaseModel | list):
            found.append(path)
        elif isinstance(raw, dict) and isinstance(model, BaseModel):
            names = {(f.alias or n): n for n, f in type(model).model_fields.items()}
            for key, value in raw.items():
                if key in names:
                    stack.append((value, getattr(model, names[key], None), f"{path}.{key}" if path else key))
    return sorted(found)


def validate_entry(entry: Entry, file: str | None, expected_type: str | None = None) -> list[Issue]:
    """Structural validation (fhir.resources R4B), required bindings and NHS numbers."""
    ctx = ImportContext(file=file, source="", strict=False, expected_type=expected_type)
    resource = entry.resource
    if not isinstance(resource, dict):
        return [ctx.issue(entry, "required", "entry has no resource", None, expression=entry.prefix or None)]
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return [ctx.issue(entry, "required", "resourceType is missing", "resourceType")]
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return [
            ctx.issue(entry, "structure", f"'{resource_type}' is not a FHIR R4 resource type", "resourceType")
        ]
    entry.resource_type = resource_type
    if expected_type and resource_type != expected_type:
        return [
            ctx.issue(
                entry, "invalid", f"expected a {expected_type} but got a {resource_type}", "resourceType"
            )
        ]
    issues: list[Issue] = []
    try:
        validated = model.model_validate(resource)
        issues.extend(
            ctx.issue(entry, "structure", "must be a JSON object or array, not a string", path)
            for path in _json_strings(resource, validated)
        )
    except ValidationError as error:
        issues.extend(_pydantic_issues(entry, error, ctx))
    except (TypeError, ValueError, RecursionError) as error:
        issues.append(ctx.issue(entry, "structure", str(error)[:300]))
    # the R4 definitions, required bindings, invariants and NHS numbers: every problem at once
    seen = {(i.expression, i.code) for i in issues}
    try:
        problems = r4.validate(resource)
    except RecursionError:
        problems = [("structure", "", "nested too deeply")]
    for code, path, message in problems:
        issue = ctx.issue(entry, code, message, path)
        if (issue.expression, issue.code) not in seen:
            issues.append(issue)
    if resource_type == "Observation" and not issues:
        # a home reading: UCUM unit and plausible range (ADR 0018), read from a valid structure only
        issues.extend(ctx.issue(entry, "value", message, path) for path, message in reading_problems(resource))
    return issues
