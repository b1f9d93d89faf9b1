"""The personalised care and support plan, and handover notes.

A care plan is versioned: every save writes a new `CarePlan` row (with its own priorities, goals and
actions) and marks the previous one superseded, so what the plan said on any day can be read back.
The care team itself is `governance.CareTeamMember`, because membership is what gives a clinician a
legitimate relationship with the person; `careweave.care.services` keeps one named co-ordinator.
Write through `careweave.care.services` only: it checks access and audits every change.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ImmutableVersionError(Exception):
    """A saved version of a care plan, or a handover note, cannot be changed: write a new one."""


class WrittenOnce(models.Model):
    """A row that is never changed once saved (abstract: no table of its own); `changed_message` says why."""

    changed_message = "this record cannot be changed"

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableVersionError(self.changed_message)
        super().save(*args, **kwargs)


class CarePlanStatus(models.TextChoices):
    # The same codes as FHIR R4 CarePlan.status (request-status), so the mapping is the identity.
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"


class CarePlan(models.Model):
    """One version of a person's personalised care and support plan."""

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="care_plans")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=CarePlanStatus.choices, default=CarePlanStatus.ACTIVE)
    what_matters = models.TextField(blank=True, help_text="What matters to the person, in their own words.")
    carer_involvement = models.TextField(blank=True)
    contingency = models.TextField(blank=True, help_text="What to do if things get worse, and whom to call.")
    review_date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    superseded_at = models.DateTimeField(null=True, blank=True, help_text="Null for the current version.")

    class Meta:
        ordering = ["person", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["person", "version"], name="care_plan_version_unique"),
            # At most one current version per person, even if two saves race.
            models.UniqueConstraint(
                fields=["person"], condition=Q(superseded_at=None), name="care_plan_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"CarePlan {self.pk} (person {self.person_id}, version {self.version})"  # no free text: logs

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A version is a record of what was agreed: only marking it superseded is allowed afterwards.
        if self.pk is not None and set(kwargs.get("update_fields") or ()) != {"superseded_at"}:
            raise ImmutableVersionError("a care plan version cannot be changed; save a new version")
        super().save(*args, **kwargs)


class Priority(models.Model):
    """Something that matters to the person, ranked by them; the clinician's ranking may differ."""

    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="priorities")
    text = models.CharField(max_length=500)
    rank = models.PositiveSmallIntegerField(help_text="The person's ranking: 1 matters most to them.")
    clinician_rank = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["rank", "pk"]

    def __str__(self) -> str:
        return f"Priority {self.pk} (rank {self.rank})"


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Working towards it"
    ACHIEVED = "achieved", "Achieved"
    ON_HOLD = "on-hold", "On hold"
    CANCELLED = "cancelled", "No longer a goal"


class Goal(models.Model):
    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="goals")
    # The same goal keeps its key across versions, so it is one FHIR Goal with a history.
    key = models.UUIDField(default=uuid.uuid4, db_index=True)
    description = models.CharField(max_length=500)
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"Goal {self.pk}"


class CarePlanAction(models.Model):
    """Something someone in the care team will do, with a named owner and a due date."""

    care_plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_plan_actions"
    )
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["owner", "done"])]

    def __str__(self) -> str:
        return f"CarePlanAction {self.pk}"


class HandoverNote(WrittenOnce):
    """So the next clinician knows the story and the person need not repeat it. Never edited."""

    changed_message = "a handover note cannot be changed; add a new note"

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="handover_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"HandoverNote {self.pk} (person {self.person_id})"


class CareTeamChange(WrittenOnce):
    """Who joined or left a person's care team, or was named co-ordinator, when and by whom: the team
    is a current list, so its history is kept here, never edited."""

    changed_message = "the care team's history cannot be changed"

    class Kind(models.TextChoices):
        JOINED = "joined", "Joined the team"
        LEFT = "left", "Left the team"
        COORDINATOR = "coordinator", "Named co-ordinator"

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="care_team_changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role_in_team = models.CharField(max_length=128, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["person", "changed_at"])]

    def __str__(self) -> str:
        return f"CareTeamChange {self.pk} (person {self.person_id})"


class CareTeamContact(models.Model):
    """A member of the care team who has no CareWeave account: a clinician elsewhere (a FHIR
    Practitioner), the person's carer or family (RelatedPerson), or the person themselves (Patient).
    Listed with the staff members, printed on the plan, and sent as CareTeam participants."""

    class Kind(models.TextChoices):
        PRACTITIONER = "practitioner", "Professional outside CareWeave"
        RELATED_PERSON = "related-person", "Carer or family member"
        PATIENT = "patient", "The person themselves"

    name = models.CharField(max_length=255)
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="care_team_contacts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    role_in_team = models.CharField(max_length=128, blank=True)
    organisation = models.CharField(max_length=255, blank=True, help_text="Where a professional works.")
    contact = models.CharField(max_length=255, blank=True, help_text="Phone, or how to reach them.")
    related_person = models.ForeignKey(
        "record.RelatedPerson", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The carer's RelatedPerson in the record, when added from it.",
    )
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "added_at", "pk"]

    def __str__(self) -> str:
        return f"CareTeamContact {self.pk} (person {self.person_id})"
