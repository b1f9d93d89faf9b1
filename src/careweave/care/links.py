"""The care app as other apps see it (care plans, care team, co-ordinator, actions): the summary,
the task list and the huddles read it through these few functions only."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from careweave.care import services as care


def current_care_plan(person: Any) -> Any | None:
    return care.current_care_plan(person)


def coordinator(person: Any) -> Any | None:
    return care.coordinator(person)


def open_plan_actions(plan: Any) -> list[Any]:
    """The care plan's actions not yet done (`current_care_plan` prefetches them with their owners)."""
    return sorted((a for a in plan.actions.all() if not a.done), key=lambda a: a.position)


def open_actions_for(user: Any) -> list[Any]:
    return list(care.open_actions_for(user))


def care_plan_url(person: Any) -> str:
    return reverse("care:plan", kwargs={"person_pk": person.pk})


def care_team_url(person: Any) -> str:
    return reverse("care:team", kwargs={"person_pk": person.pk})
