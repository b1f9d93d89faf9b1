"""The record row of a FHIR Task about a referral: which ServiceRequest it tracks, the business state
the receiving service gave it, and what came back (ADR 0012). Projected by `careweave.fhir.workflow`."""

from __future__ import annotations

from django.db import models

from careweave.record import models as rm


class ReferralTask(models.Model):
    """A Task whose focus (or basedOn) is a ServiceRequest: the fulfilment Task carries the referral's
    business state; a waiting-list validation Task (its `code` says so) records a contact."""

    resource = models.OneToOneField(rm.StoredResource, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="referral_tasks")
    referral = models.ForeignKey(
        rm.Referral, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    focus_id = models.CharField(max_length=64, blank=True, help_text="The ServiceRequest's logical id.")
    code_system = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=64, blank=True)
    is_validation = models.BooleanField(default=False)
    status = models.CharField(max_length=32, blank=True)  # Task.status
    business_status = models.CharField(max_length=32, blank=True)  # requested ... completed | cancelled
    status_reason_code = models.CharField(max_length=64, blank=True)
    status_reason_display = models.CharField(max_length=255, blank=True)
    authored_on = models.DateField(null=True, blank=True)
    last_modified = models.DateField(null=True, blank=True, help_text="When the business state was set.")
    requester_organisation = models.ForeignKey(
        rm.Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_organisation = models.ForeignKey(
        rm.Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outputs = models.CharField(
        max_length=1024, blank=True, help_text="Task.output references ('Type/id'), space-separated."
    )

    class Meta:
        indexes = [
            models.Index(fields=["focus_id"], name="referral_task_focus"),
            models.Index(fields=["person", "focus_id"], name="referral_task_person_focus"),
        ]

    def __str__(self) -> str:
        return f"ReferralTask {self.pk}"  # never patient data: str() ends up in logs


class ReferralTaskState(models.Model):
    """A business state a referral's Task was in and the day it was set, one row per state the Task's
    versions have carried (ADR 0012). The referral's timeline is read from here, and a history that
    arrives out of order is put in the order of its own dates before the transitions are checked."""

    resource = models.ForeignKey(rm.StoredResource, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="referral_task_states")
    focus_id = models.CharField(max_length=64, blank=True, help_text="The ServiceRequest's logical id.")
    business_status = models.CharField(max_length=32)
    status_reason_display = models.CharField(max_length=255, blank=True)
    on = models.DateField(null=True, blank=True, help_text="The version's lastModified (or authoredOn).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "business_status"], name="referral_task_state_once")
        ]
        indexes = [models.Index(fields=["focus_id"], name="referral_task_state_focus")]

    def __str__(self) -> str:
        return f"ReferralTaskState {self.pk}"
