"""The practice planner's tables (issue 14, item 4): what the practice sets (recall month, weekly cap,
slot length, clinic sessions), the plan precomputed from the planner for each practice (so the
12-week page reads one indexed table), and the reviews booked from it.

Writes go through `careweave.reviews.services` (atomic, audited); these are the tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RecallMode(models.TextChoices):
    DUE = "due", "When the first item falls due"
    BIRTH_MONTH = "birth-month", "In the person's birth month"
    MONTH = "month", "In a month the practice chooses"


class ClinicianType(models.TextChoices):
    NURSE = "nurse", "Nurse"
    PHARMACIST = "pharmacist", "Pharmacist"
    GP = "gp", "GP"


class PlannerSettings(models.Model):
    """How a practice recalls people for their review. Recall never moves a review later than the
    date its first item falls due (a recall month only brings a review forward)."""

    practice = models.OneToOneField("record.Organisation", on_delete=models.CASCADE, related_name="+")
    recall = models.CharField(max_length=16, choices=RecallMode.choices, default=RecallMode.DUE)
    recall_month = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1-12, for recall 'month'."
    )
    weekly_cap = models.PositiveIntegerField(default=60, help_text="Most reviews a week.")
    slot_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="A standard slot; a double is twice."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"PlannerSettings {self.pk}"


class ClinicSession(models.Model):
    """One weekly session the practice runs for reviews: a clinician type and its minutes a week."""

    practice = models.ForeignKey("record.Organisation", on_delete=models.CASCADE, related_name="+")
    clinician_type = models.CharField(max_length=16, choices=ClinicianType.choices)
    weekday = models.PositiveSmallIntegerField(help_text="0 Monday .. 4 Friday")
    minutes = models.PositiveSmallIntegerField(help_text="Length of the session in minutes.")

    class Meta:
        ordering = ["weekday", "clinician_type", "pk"]

    def __str__(self) -> str:
        return f"ClinicSession {self.pk}"


class PlannedReview(models.Model):
    """One person's review as the planner last computed it for their registered practice."""

    practice = models.ForeignKey("record.Organisation", on_delete=models.CASCADE, related_name="+")
    person = models.OneToOneField("record.Person", on_delete=models.CASCADE, related_name="+")
    planned_on = models.DateField(help_text="The planning date (as of).")
    review_date = models.DateField()
    phlebotomy_date = models.DateField(null=True, blank=True)
    overdue = models.BooleanField(default=False)
    slot_minutes = models.PositiveSmallIntegerField()
    slot_reasons = models.JSONField(default=list)
    clinician_type = models.CharField(max_length=16)
    usual_practitioner = models.ForeignKey(
        "record.Practitioner", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: the printed items and bloods (``Review.as_json``), so the page and the template need no re-plan
    items = models.JSONField(default=list)
    bloods = models.JSONField(default=list)
    birth_month = models.PositiveSmallIntegerField(null=True, blank=True)
    #: why the person needs a different approach (declined or did not attend twice), or ""
    different_approach = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["practice", "review_date"])]

    def __str__(self) -> str:
        return f"PlannedReview {self.pk}"


class Booking(models.Model):
    """A review booked from the planner: the FHIR resources written into the record for it."""

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    practice = models.ForeignKey("record.Organisation", on_delete=models.CASCADE, related_name="+")
    review_start = models.DateTimeField()
    appointment_id = models.CharField(max_length=64)
    phlebotomy_id = models.CharField(max_length=64, blank=True)
    requisition_id = models.CharField(max_length=64, blank=True)
    items = models.JSONField(default=list)
    booked_at = models.DateTimeField(auto_now_add=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-booked_at", "-pk"]

    def __str__(self) -> str:
        return f"Booking {self.pk}"
