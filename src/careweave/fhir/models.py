"""The earlier versions of stored resources, for `_history` (the record's `StoredResource` holds the
current one). A row is written when a resource is updated (its version before the update) or deleted
(its last version, marked deleted), never on create, so a first load writes nothing here."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ResourceVersion(models.Model):
    resource_type = models.CharField(max_length=64)
    logical_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    body = models.TextField(help_text="The resource as it was at this version (JSON).")
    last_updated = models.DateTimeField()
    # whose record it was in, for the access rules (a plain value: the person may since be deleted)
    person_id = models.BigIntegerField(null=True, blank=True)
    deleted = models.BooleanField(default=False, help_text="This version was deleted after it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "logical_id", "version"], name="fhir_resource_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.logical_id}/_history/{self.version}"


class BulkImport(models.Model):
    """A Bulk Data import asked for through `POST /fhir/$import`, run by the task queue (ADR 0015)
    and polled at its status URL (the async pattern of the Bulk Data `$export`)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    request_url = models.TextField()
    files = models.JSONField(help_text="The manifest's files (resolved paths under CAREWEAVE_IMPORT_DIR).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(
        default=dict, help_text="Counts per type and outcome; the OperationOutcome if refused."
    )

    def __str__(self) -> str:
        return f"$import {self.id} ({self.status})"
