"""What CareWeave sent and must still do: a CommunicationRequest per message asked for, a
Communication per attempt on one channel (FHIR R4 resources of the same names, also kept in the
record's resource store), and the Tasks staff must do by hand (a phone call, booking an interpreter).
The contact details and stated channel order the workspace records live here too (a Patient's own
telecom ranks are read from the record)."""

from __future__ import annotations

from django.db import models

from careweave.record import models as rm


class ContactPreference(models.Model):
    """The person's stated channel order and NHS App registration, as recorded in the workspace."""

    person = models.OneToOneField(rm.Person, on_delete=models.CASCADE, related_name="contact_preference")
    order = models.JSONField(default=list, blank=True, help_text="Channels, most preferred first.")
    app_registered = models.BooleanField(default=False)
    updated = models.DateTimeField(auto_now=True)


class CommunicationRequest(models.Model):
    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="communication_requests")
    resource = models.OneToOneField(rm.StoredResource, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=32)
    status = models.CharField(max_length=16, default="active")  # active | completed | revoked
    recipient = models.CharField(max_length=16, default="person")  # person | carer
    letter_format = models.CharField(max_length=16, default="standard")
    language = models.CharField(max_length=16, default="en")
    interpreter = models.CharField(max_length=16, blank=True)
    route = models.JSONField(default=dict, help_text="The planned channels, exclusions and notes.")
    authored = models.DateTimeField()
    requester = models.CharField(max_length=150, help_text="Username or system process that asked.")
    sender = models.ForeignKey(
        rm.Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["person", "authored"])]


class Communication(models.Model):
    """One attempt on one channel. `status` is FHIR's; `delivery` is Notify's own status word."""

    request = models.ForeignKey(CommunicationRequest, on_delete=models.CASCADE, related_name="attempts")
    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="communications")
    resource = models.OneToOneField(rm.StoredResource, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=16)  # preparation | in-progress | completed | not-done | stopped
    delivery = models.CharField(max_length=32, blank=True)
    notify_id = models.CharField(max_length=64, blank=True, db_index=True)
    sent = models.DateTimeField(null=True, blank=True)
    received = models.DateTimeField(null=True, blank=True, help_text="Delivered, or read in the app.")
    status_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["channel", "status", "sent"])]


class StaffTask(models.Model):
    """Work for staff a message needs: a phone call, booking an interpreter, a braille transcription."""

    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="contact_tasks")
    request = models.ForeignKey(CommunicationRequest, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=32)  # phone-call | book-interpreter | accessible-format
    description = models.CharField(max_length=512)
    status = models.CharField(max_length=16, default="requested")
    created = models.DateTimeField()
