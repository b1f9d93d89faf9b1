"""Loaded Questionnaires, the responses stored in the record (one row each, for "what is due" and
for the analysts' PROM scores), and the precomputed aggregates of the analysts' outcomes page."""

from __future__ import annotations

from django.db import models

from careweave.record import models as rm


class LoadedQuestionnaire(models.Model):
    """A Questionnaire an organisation loaded (`careweave questionnaires load`, or POST /fhir/Questionnaire);
    the ones CareWeave ships are read from its data files and are not stored here."""

    url = models.CharField(max_length=255)
    version = models.CharField(max_length=64, blank=True)
    logical_id = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=512)
    status = models.CharField(max_length=16)
    licence = models.CharField(max_length=512)
    source = models.CharField(max_length=1024)
    validated = models.BooleanField()
    body = models.TextField(help_text="The Questionnaire as loaded (FHIR R4 JSON).")
    loaded_at = models.DateTimeField(auto_now=True)
    loaded_by = models.CharField(max_length=255, help_text="Username or 'cli', never a patient.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["url", "version"], name="questionnaire_url_version")]

    def __str__(self) -> str:
        return f"LoadedQuestionnaire {self.pk}"


class ResponseRecord(models.Model):
    """A QuestionnaireResponse stored in the record (its StoredResource holds the FHIR), with its score."""

    resource = models.OneToOneField(rm.StoredResource, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(rm.Person, on_delete=models.CASCADE, related_name="+")
    questionnaire_url = models.CharField(max_length=255, db_index=True)
    questionnaire_version = models.CharField(max_length=64, blank=True)
    authored = models.DateTimeField()
    score = models.FloatField(null=True, blank=True, help_text="The first score item's value, if any.")
    mode = models.CharField(max_length=32, help_text="api, online, phone, paper or in-person")

    class Meta:
        indexes = [models.Index(fields=["person", "questionnaire_url", "authored"], name="qr_person_due")]

    def __str__(self) -> str:
        return f"ResponseRecord {self.pk}"  # never patient data: str() ends up in logs


class OutcomeSnapshot(models.Model):
    """The analysts' outcomes page, aggregated and suppressed ahead of time (`web.outcomes_refresh`):
    counts and rates by group and month only, never a person. The newest row is served."""

    run_id = models.BigIntegerField(
        null=True, blank=True, help_text="The segmentation run whose clusters it uses."
    )
    as_of = models.DateField()
    computed_at = models.DateTimeField(auto_now_add=True)
    people = models.PositiveIntegerField(help_text="People counted (before suppression; never shown raw).")
    data = models.JSONField(help_text="Suppressed aggregates: tables by dimension and the monthly series.")

    def __str__(self) -> str:
        return f"OutcomeSnapshot {self.pk}"
