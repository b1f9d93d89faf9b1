"""The care plan form: repeating rows of priorities, goals and actions, and NHS.UK date inputs.

It works without JavaScript: the page always offers a few blank rows, and "Add more rows" posts the
form back with more (nothing is saved). Blank rows are ignored. Errors are kept in page order as
(field id, message) so the error summary can link to each field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.http import QueryDict

from careweave.care.models import CarePlanStatus, GoalStatus
from careweave.care.services import ActionData, GoalData, PlanData, PriorityData

BLANK_ROWS = 2
MAX_ROWS = 50
MAX_TEXT = 500
MAX_LONG_TEXT = 10000

ROWS = {
    "priority": ("text", "rank", "clinician_rank"),
    "goal": ("description", "key", "status", "target[day]", "target[month]", "target[year]"),
    "action": ("description", "owner", "done", "due[day]", "due[month]", "due[year]"),
}


def _date_parts(value: date | None) -> dict[str, str]:
    if value is None:
        return {"day": "", "month": "", "year": ""}
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}


def _parse_date(parts: dict[str, str], label: str) -> tuple[date | None, str]:
    day, month, year = (parts.get(k, "").strip() for k in ("day", "month", "year"))
    if not (day or month or year):
        return None, ""
    missing = [name for name, value in (("day", day), ("month", month), ("year", year)) if not value]
    if missing:
        return None, f"{label} must include a {' and '.join(missing)}"
    if not (day.isdigit() and month.isdigit() and year.isdigit()) or len(year) != 4:
        return None, f"{label} must be a real date, for example 27 3 2026"
    try:
        return date(int(year), int(month), int(day)), ""
    except ValueError:
        return None, f"{label} must be a real date, for example 27 3 2026"


def _whole_number(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 4 else None


@dataclass
class PlanForm:
    owner_choices: list[tuple[str, str]]  # (user pk, label)
    values: dict[str, Any] = field(default_factory=dict)
    priorities: list[dict[str, Any]] = field(default_factory=list)
    goals: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    cleaned: PlanData | None = None

    @property
    def error_for(self) -> dict[str, str]:
        return dict(self.errors)

    # -- building ------------------------------------------------------------------------------------

    @classmethod
    def from_plan(cls, data: PlanData, owner_choices: list[tuple[str, str]]) -> PlanForm:
        form = cls(owner_choices=owner_choices)
        form.values = {
            "status": data.status,
            "what_matters": data.what_matters,
            "carer_involvement": data.carer_involvement,
            "contingency": data.contingency,
            "review": _date_parts(data.review_date),
        }
        form.priorities = [
            {"text": p.text, "rank": str(p.rank), "clinician_rank": str(p.clinician_rank or "")}
            for p in data.priorities
        ]
        form.goals = [
            {
                "description": g.description,
                "key": str(g.key or ""),
                "status": g.status,
                "target": _date_parts(g.target_date),
            }
            for g in data.goals
        ]
        form.actions = [
            {
                "description": a.description,
                "owner": str(getattr(a.owner, "pk", a.owner)),
                "done": a.done,
                "due": _date_parts(a.due_date),
            }
            for a in data.actions
        ]
        form.add_blank_rows()
        return form

    @classmethod
    def from_post(cls, post: QueryDict, owner_choices: list[tuple[str, str]]) -> PlanForm:
        form = cls(owner_choices=owner_choices)
        form.values = {
            "status": post.get("status", ""),
            "what_matters": post.get("what_matters", ""),
            "carer_involvement": post.get("carer_involvement", ""),
            "contingency": post.get("contingency", ""),
            "review": {k: post.get(f"review[{k}]", "") for k in ("day", "month", "year")},
        }
        for kind, rows in (("priority", form.priorities), ("goal", form.goals), ("action", form.actions)):
            count = min(_whole_number(post.get(f"{kind}-count", "0")) or 0, MAX_ROWS)
            for i in range(count):
                raw = {name: post.get(f"{kind}-{i}-{name}", "") for name in ROWS[kind]}
                row: dict[str, Any] = {k: v for k, v in raw.items() if "[" not in k}
                for date_field in ("target", "due"):
                    if f"{date_field}[day]" in raw:
                        row[date_field] = {k: raw[f"{date_field}[{k}]"] for k in ("day", "month", "year")}
                if kind == "action":
                    row["done"] = raw["done"] == "yes"
                rows.append(row)
        return form

    def add_blank_rows(self) -> None:
        self.priorities += [{"text": "", "rank": "", "clinician_rank": ""} for _ in range(BLANK_ROWS)]
        self.goals += [
            {"description": "", "key": "", "status": GoalStatus.ACTIVE, "target": _date_parts(None)}
            for _ in range(BLANK_ROWS)
        ]
        self.actions += [
            {"description": "", "owner": "", "done": False, "due": _date_parts(None)}
            for _ in range(BLANK_ROWS)
        ]

    # -- checking ------------------------------------------------------------------------------------

    def is_valid(self) -> bool:
        errors = self.errors
        values = self.values
        if values["status"] not in CarePlanStatus.values:
            errors.append(("status", "Select whether the plan is a draft, active or completed"))
        for name, label in (
            ("what_matters", "What matters"),
            ("carer_involvement", "Carer involvement"),
            ("contingency", "The contingency and escalation plan"),
        ):
            if len(values[name]) > MAX_LONG_TEXT:
                errors.append((name, f"{label} must be {MAX_LONG_TEXT:,} characters or fewer"))
        # A plan that is in use must say what matters to the person; a draft may not know yet.
        if not values["what_matters"].strip() and values["status"] != CarePlanStatus.DRAFT:
            errors.append(
                ("what_matters", "Enter what matters to the person in their own words, or save a draft")
            )

        priorities: list[PriorityData] = []
        typed_ranks: list[int] = []
        for i, row in enumerate(self.priorities):
            text = row["text"].strip()
            if not text:
                continue
            if len(text) > MAX_TEXT:
                errors.append(
                    (f"priority-{i}-text", f"Priority {i + 1} must be {MAX_TEXT} characters or fewer")
                )
            rank = _whole_number(row["rank"]) if row["rank"].strip() else None
            if row["rank"].strip() and not rank:
                errors.append(
                    (
                        f"priority-{i}-rank",
                        f"Their rank for priority {i + 1} must be a whole number, 1 or more",
                    )
                )
            clinician_rank = _whole_number(row["clinician_rank"]) if row["clinician_rank"].strip() else None
            if row["clinician_rank"].strip() and not clinician_rank:
                errors.append(
                    (
                        f"priority-{i}-clinician_rank",
                        f"The clinician's rank for priority {i + 1} must be a whole number, 1 or more",
                    )
                )
            if rank in typed_ranks:
                errors.append(
                    (f"priority-{i}-rank", f"Priority {i + 1} has the same rank as another priority")
                )
            if rank:
                typed_ranks.append(rank)
            # Unranked priorities follow the ranked ones in the order they are written.
            priorities.append(PriorityData(text, rank or 1000 + i, clinician_rank))
        clinician = [p.clinician_rank for p in priorities if p.clinician_rank]
        if len(set(clinician)) != len(clinician):
            first = next(
                i for i, r in enumerate(self.priorities) if r["text"].strip() and r["clinician_rank"].strip()
            )
            errors.append(
                (f"priority-{first}-clinician_rank", "Give each priority a different clinician's rank")
            )

        goals: list[GoalData] = []
        for i, row in enumerate(self.goals):
            description = row["description"].strip()
            target, problem = _parse_date(row["target"], f"The target date for goal {i + 1}")
            if not description:
                if target or problem:
                    errors.append((f"goal-{i}-description", f"Enter goal {i + 1}, or clear its target date"))
                continue
            if len(description) > MAX_TEXT:
                errors.append(
                    (f"goal-{i}-description", f"Goal {i + 1} must be {MAX_TEXT} characters or fewer")
                )
            if problem:
                errors.append((f"goal-{i}-target-day", problem))
            if row["status"] not in GoalStatus.values:
                errors.append((f"goal-{i}-status", f"Select a status for goal {i + 1}"))
            try:
                key = uuid.UUID(row["key"]) if row["key"] else None
            except ValueError:
                key = None
            goals.append(GoalData(description, target, row["status"], key))

        owners = {pk for pk, _label in self.owner_choices}
        actions: list[ActionData] = []
        for i, row in enumerate(self.actions):
            description = row["description"].strip()
            due, problem = _parse_date(row["due"], f"The due date for action {i + 1}")
            if not description:
                if row["owner"] or due or problem:
                    errors.append(
                        (f"action-{i}-description", f"Enter action {i + 1}, or clear its owner and date")
                    )
                continue
            if len(description) > MAX_TEXT:
                errors.append(
                    (f"action-{i}-description", f"Action {i + 1} must be {MAX_TEXT} characters or fewer")
                )
            if row["owner"] not in owners:
                errors.append((f"action-{i}-owner", f"Select who owns action {i + 1} from the care team"))
            if problem:
                errors.append((f"action-{i}-due-day", problem))
            actions.append(
                ActionData(description, int(row["owner"]) if row["owner"].isdigit() else 0, due, row["done"])
            )

        review, problem = _parse_date(values["review"], "The review date")
        if problem:
            errors.append(("review-day", problem))
        if errors:
            return False
        self.cleaned = PlanData(
            what_matters=values["what_matters"],
            status=values["status"],
            priorities=tuple(priorities),
            goals=tuple(goals),
            actions=tuple(actions),
            carer_involvement=values["carer_involvement"],
            contingency=values["contingency"],
            review_date=review,
        )
        return True
