"""MDT huddles: a team meets, discusses people from the worklists or nominated by a member, and
records what was decided as tasks with an owner and a due date.

Writes go through `careweave.huddles.services` (atomic, audited); these are the tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Huddle(models.Model):
    team_name = models.CharField(max_length=255)
    organisation = models.ForeignKey(
        "record.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_for = models.DateTimeField()
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="huddles")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_for", "-pk"]

    def __str__(self) -> str:
        return f"Huddle {self.pk}"


class AgendaItem(models.Model):
    """One person to discuss: suggested from a worklist, or nominated by a member with a reason."""

    huddle = models.ForeignKey(Huddle, on_delete=models.CASCADE, related_name="agenda")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    suggested_from = models.CharField(max_length=64, blank=True, help_text="Worklist id, when suggested.")
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["huddle", "person"], name="agenda_person_unique")]

    def __str__(self) -> str:
        return f"Agenda item {self.pk}"  # never a name: str() ends up in logs


class Outcome(models.Model):
    """What the team decided about one person on the agenda."""

    agenda_item = models.OneToOneField(AgendaItem, on_delete=models.CASCADE, related_name="outcome")
    discussion = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "To do"
        DONE = "done", "Done"

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="huddle_tasks")
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="huddle_tasks")
    due_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    source_huddle = models.ForeignKey(
        Huddle, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    outcome = models.ForeignKey(
        Outcome, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [
            models.Index(fields=["owner", "status", "due_date"]),
            models.Index(fields=["person", "status"]),
        ]

    def __str__(self) -> str:
        return f"Task {self.pk}"
