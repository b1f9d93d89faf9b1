"""A structured medication review (NHS England SMR specification) and the decision on each finding.

A finding is known by its key: the rule and the implicated medicines (``findings.finding_key``). A
decision to continue, with its reason, keeps that finding off the worklist, the summary and FHIR
until the key changes (a medicine started, stopped or switched among those implicated)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Decision(models.TextChoices):
    STOP = "stop", "Stop"
    REDUCE = "reduce", "Reduce the dose"
    SWITCH = "switch", "Switch to another medicine"
    CONTINUE = "continue", "Continue (reason recorded)"
    REFER = "refer", "Refer"


class MedicationReview(models.Model):
    """One structured medication review of one person, by a pharmacist or GP."""

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="medication_reviews")
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    what_matters = models.TextField(blank=True, help_text="What matters to the person about their medicines.")
    shared_decision = models.TextField(blank=True, help_text="What was agreed with the person.")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["person", "-started_at", "-pk"]

    def __str__(self) -> str:
        return f"MedicationReview {self.pk} (person {self.person_id})"  # no free text: logs


class FindingDecision(models.Model):
    """What the reviewer decided about one finding: never edited, a later decision supersedes."""

    review = models.ForeignKey(MedicationReview, on_delete=models.CASCADE, related_name="decisions")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    finding_key = models.CharField(max_length=32, db_index=True)
    rule = models.CharField(max_length=128)
    medicines = models.JSONField(default=list, help_text="The implicated medicines as they were.")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "pk"]
        indexes = [models.Index(fields=["person", "finding_key"])]

    def __str__(self) -> str:
        return f"FindingDecision {self.pk} ({self.decision})"


class Reconciliation(models.Model):
    """The practice's reconciliation of a discharge medication list against the pre-admission list."""

    person = models.ForeignKey(
        "record.Person", on_delete=models.CASCADE, related_name="medicines_reconciliations"
    )
    discharge_list = models.CharField(
        max_length=128, help_text="The discharge List's logical id in the record."
    )
    received_on = models.DateField()
    due_on = models.DateField(help_text="2 working days after the discharge information arrived.")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["person", "-received_on", "-pk"]

    def __str__(self) -> str:
        return f"Reconciliation {self.pk} (person {self.person_id})"


class ReconciliationChange(models.Model):
    class Kind(models.TextChoices):
        STARTED = "started", "Started"
        STOPPED = "stopped", "Stopped"
        CHANGED = "changed", "Changed"
        UNCHANGED = "unchanged", "Unchanged"

    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=512)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it changed, recorded by the reconciling clinician.")
    reason_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["reconciliation", "name", "pk"]

    def __str__(self) -> str:
        return f"ReconciliationChange {self.pk} ({self.kind})"
