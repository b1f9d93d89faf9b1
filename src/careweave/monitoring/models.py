"""Home readings' own rows (ADR 0018): who may send readings for a person, the person's own alert
thresholds (targets of a Goal in their care plan), an index of the home readings in the record, and
the alerts raised from them, each one a FHIR Task in the record, with the team's replies."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from careweave.record import models as rm


class ReadingSource(models.Model):
    """An account that sends home readings for one person only: a device or app (its bearer token
    is an ApiToken of this user) or the person's own account (or their carer's)."""

    class Kind(models.TextChoices):
        DEVICE = "device", "Device or app"
        PERSON = "person", "The person"
        CARER = "carer", "Their carer"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reading_source"
    )
    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="reading_sources")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    #: The device's identifier (Observation.device.identifier.value); blank for a person.
    label = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"ReadingSource {self.pk}"


class ReadingTarget(models.Model):
    """A person's own alert threshold for one measurement, set by the care team: a target of the Goal
    (its key) in their care plan. It replaces the reviewed default for that measurement and severity."""

    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="reading_targets")
    goal_key = models.UUIDField(default=uuid.uuid4)
    measurement = models.CharField(max_length=32)
    severity = models.CharField(max_length=16, default="routine")
    below = models.FloatField(null=True, blank=True)
    at_or_above = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "measurement", "severity"], name="reading_target_once")
        ]

    def __str__(self) -> str:
        return f"ReadingTarget {self.pk}"


class HomeReading(models.Model):
    """One value of a home reading in the record (a blood pressure gives two), indexed for trends,
    the silence check and the summary. Written when the reading is imported (ADR 0018)."""

    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="home_readings")
    resource = models.ForeignKey(rm.StoredResource, on_delete=models.CASCADE, related_name="+")
    measurement = models.CharField(max_length=32)
    value = models.FloatField()
    unit = models.CharField(max_length=32)
    effective = models.DateTimeField()
    by_device = models.BooleanField(default=False)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "measurement"], name="home_reading_once")]
        indexes = [models.Index(fields=["person", "measurement", "effective"], name="home_reading_trend")]

    def __str__(self) -> str:
        return f"HomeReading {self.pk}"


class AlertStatus(models.TextChoices):
    OPEN = "open", "New"
    SEEN = "seen", "Seen by the team"
    CLOSED = "closed", "Done"


OPEN_STATUSES = (AlertStatus.OPEN, AlertStatus.SEEN)


class HomeReadingAlert(models.Model):
    """An alert raised from home readings, kept as a FHIR Task in the record (`task`). At most one is
    open per person and measurement: a repeat breach updates it (a new version of the Task)."""

    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="home_reading_alerts")
    task = models.OneToOneField(rm.StoredResource, on_delete=models.CASCADE, related_name="+")
    measurement = models.CharField(max_length=32)  # blood_pressure, weight ..., or check_in
    rule = models.CharField(max_length=64)
    severity = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    observation_id = models.CharField(
        max_length=64, blank=True, help_text="The latest triggering Observation."
    )
    summary = models.CharField(max_length=500)
    breaches = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    due_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "measurement"],
                condition=Q(status__in=["open", "seen"]),
                name="home_reading_alert_one_open",
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="home_reading_alert_due")]

    def __str__(self) -> str:
        return f"HomeReadingAlert {self.pk}"


class AlertReply(models.Model):
    """What a member of the team did about an alert and said, for the person's view ("your nurse has
    looked at this")."""

    class Action(models.TextChoices):
        SEEN = "seen", "Seen"
        COMPLETED = "completed", "Done"

    alert = models.ForeignKey(HomeReadingAlert, on_delete=models.CASCADE, related_name="replies")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"AlertReply {self.pk}"
