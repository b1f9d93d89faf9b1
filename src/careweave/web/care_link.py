"""The workspace's view of the care app (care plans, care team, co-ordinator, actions).

The care app is built alongside the workspace; reading it through this one module keeps the
summary, the task list and the huddles working whichever of its functions are present.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.urls import NoReverseMatch, reverse


def _service(name: str) -> Any | None:
    try:
        module = importlib.import_module("careweave.care.services")
    except ImportError:
        return None
    return getattr(module, name, None)


def current_care_plan(person: Any) -> Any | None:
    fn = _service("current_care_plan")
    return fn(person) if fn else None


def coordinator(person: Any) -> Any | None:
    fn = _service("coordinator")
    return fn(person) if fn else None


def care_team(person: Any) -> list[Any]:
    fn = _service("care_team")
    return list(fn(person)) if fn else []


def open_actions_for(user: Any) -> list[Any]:
    fn = _service("open_actions_for")
    return list(fn(user)) if fn else []


def care_plan_url(person: Any) -> str:
    for name in ("care:care-plan", "care:plan", "care:care_plan"):
        try:
            return reverse(name, kwargs={"person_pk": person.pk})
        except NoReverseMatch:
            continue
    return ""
