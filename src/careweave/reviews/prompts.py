"""Make every contact count (issue 14, item 5): the prompts due for a person at any contact (their
summary, the review template), each with the rule that asks for it (``contact_prompts.yaml``), and
a one-click answer, done or declined, recorded as a coded Observation through the importer.

A prompt is due when it applies to the person (age, a social need such as being a carer) and no
Observation with one of its codes is in the record since it was last due; a decline, recorded with
FHIR dataAbsentReason asked-declined, counts as an answer until the prompt is due again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from careweave.governance.access import Permission, open_record
from careweave.record import models as rm
from careweave.reviews.services import PlannerError, write_bundle
from careweave.terminology.loading.prompts import ContactPrompt, load_contact_prompts
from careweave.terminology.loading.schedules import months_before
from careweave.ui.format import age_in_years, format_date

DATA_ABSENT: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OUTCOMES: Final = ("done", "declined")
MAX_VALUE = 100


@dataclass(frozen=True)
class DuePrompt:
    prompt: ContactPrompt
    last: dt.date | None

    @property
    def id(self) -> str:
        return self.prompt.id

    @property
    def rule(self) -> str:
        """The rule in words, for the page."""
        p = self.prompt
        if p.once:
            when = "once"
        elif p.season_from_month:
            when = "each season"
        else:
            when = f"every {p.every_months} months"
        who = (
            f"aged {p.age_from} and over" if p.age_from else "who are carers" if p.social_need else "everyone"
        )
        return f"{p.name}: {when} for people {who}"

    @property
    def last_text(self) -> str:
        return f"Last answered {format_date(self.last)}" if self.last else "Never recorded"


def _since(prompt: ContactPrompt, today: dt.date) -> dt.date | None:
    """An answer on or after this date means the prompt is not due (None: any answer ever)."""
    if prompt.once:
        return None
    if prompt.season_from_month:
        year = today.year if today.month >= prompt.season_from_month else today.year - 1
        return dt.date(year, prompt.season_from_month, 1)
    return months_before(today, prompt.every_months or 12)


def _applies(prompt: ContactPrompt, age: int | None, needs: set[str]) -> bool:
    if prompt.age_from is not None and (age is None or age < prompt.age_from):
        return False
    if prompt.age_to is not None and (age is None or age > prompt.age_to):
        return False
    return prompt.social_need is None or prompt.social_need in needs


def prompts_due(person: rm.Person, today: dt.date | None = None) -> list[DuePrompt]:
    """The prompts due for ``person`` today, in the file's order (one query for the answers)."""
    today = today or timezone.localdate()
    if person.deceased:
        return []
    age = age_in_years(person.birth_date, today)
    needs = set(rm.SocialCircumstance.objects.filter(person=person).values_list("kind", flat=True))
    prompts = [p for p in load_contact_prompts() if _applies(p, age, needs)]
    if not prompts:
        return []
    codes = {code for p in prompts for code in p.codes}
    wanted = Q(pk__in=[])
    for system in {s for s, _ in codes}:
        wanted |= Q(system=system, code__in=[c for s, c in codes if s == system])
    last = {
        (system, code): when.date()
        for system, code, when in rm.Observation.objects.filter(wanted, person=person)
        .values("system", "code")
        .annotate(when=Max("effective"))
        .values_list("system", "code", "when")
        if when is not None
    }
    due: list[DuePrompt] = []
    for prompt in prompts:
        answered = max((last[c] for c in prompt.codes if c in last), default=None)
        since = _since(prompt, today)
        if answered is None or (since is not None and answered < since):
            due.append(DuePrompt(prompt, answered))
    return due


def _observation(person: rm.Person, prompt: ContactPrompt, outcome: str, value: str) -> dict[str, Any]:
    system, code = prompt.record_code
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [{"system": system, "code": code, "display": prompt.record_display}],
            "text": prompt.name,
        },
        "subject": {"reference": f"Patient/{person.resource.logical_id}"},
        "effectiveDateTime": timezone.now().isoformat(),
    }
    if outcome == "declined":
        body["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT, "code": "asked-declined"}]}
        return body
    value = value.strip()
    if prompt.value == "number":
        try:
            number = float(value)
        except ValueError:
            raise PlannerError(f"{prompt.name}: enter a number", f"prompt-{prompt.id}-value") from None
        if not 0 <= number < 1000:
            raise PlannerError(f"{prompt.name}: enter a number from 0 to 999", f"prompt-{prompt.id}-value")
        body["valueQuantity"] = {
            "value": number,
            "unit": prompt.unit,
            "system": "http://unitsofmeasure.org",
            "code": prompt.unit,
        }
    elif prompt.value == "choice":
        answer = next(((c, d) for c, d in prompt.answers if c[1] == value), None)
        if answer is None:
            raise PlannerError(f"{prompt.name}: choose an answer", f"prompt-{prompt.id}-value")
        (a_system, a_code), display = answer
        body["valueCodeableConcept"] = {
            "coding": [{"system": a_system, "code": a_code, "display": display}],
            "text": display,
        }
    elif prompt.value == "text":
        if not value or len(value) > MAX_VALUE:
            raise PlannerError(f"{prompt.name}: enter the result", f"prompt-{prompt.id}-value")
        body["valueString"] = value
    else:
        body["valueString"] = "Done"
    return body


def record_prompt(*, user: Any, person: rm.Person, prompt_id: str, outcome: str, value: str = "") -> str:
    """Record ``outcome`` (done, with its value, or declined) for one prompt; the Observation's id."""
    prompt = next((p for p in load_contact_prompts() if p.id == prompt_id), None)
    if prompt is None or outcome not in OUTCOMES:
        raise PlannerError("That prompt or answer is not one CareWeave knows", "prompts")
    access = open_record(
        user=user, person=person, action="create", resource_type="Observation",
        permission=Permission.WRITE_RECORDS, audit=False,
    )  # fmt: skip
    body = _observation(person, prompt, outcome, value)
    with transaction.atomic():
        (logical_id,) = write_bundle(user, [body], f"prompt-{prompt.id}-value")
        access.audit(
            action="create", resource_type="Observation", resource_id=logical_id, reason=f"prompt {outcome}"
        )
    return logical_id
