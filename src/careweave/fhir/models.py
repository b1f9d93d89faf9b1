"""The earlier versions of stored resources, for `_history` (the record's `StoredResource` holds the
current one). A row is written when a resource is updated (its version before the update) or deleted
(its last version, marked deleted), never on create, so a first load writes nothing here."""

from __future__ import annotations

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
