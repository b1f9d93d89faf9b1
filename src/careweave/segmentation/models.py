"""Stored results of population segmentation runs: versioned, comparable over time.

A run keeps the fitted latent class model (so people can be assigned later), the cluster
descriptions, every person's features, cluster and register entry, and the worklists. Clinician
overrides of worklists are kept outside runs so they survive re-runs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SegmentationRun(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.CharField(
        max_length=64, help_text="Run id: engine, as-of date, model and library versions."
    )
    engine = models.CharField(max_length=16)
    as_of = models.DateField()
    seed = models.IntegerField()
    people_count = models.PositiveIntegerField()
    register_size = models.PositiveIntegerField()
    n_classes = models.PositiveSmallIntegerField()
    model_version = models.CharField(max_length=64)
    model_json = models.TextField(help_text="The fitted LCA model, for assigning people later.")
    indicators = models.JSONField(default=list)
    class_selection = models.JSONField(
        default=list, help_text="BIC, entropy and smallest class for each K tried."
    )
    timings = models.JSONField(default=dict)
    library_version = models.CharField(max_length=64, blank=True)
    is_current = models.BooleanField(default=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class Cluster(models.Model):
    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="clusters")
    number = models.PositiveSmallIntegerField()
    size = models.PositiveIntegerField()
    share = models.FloatField()
    label = models.CharField(max_length=255)
    staff_description = models.TextField()
    person_sentence = models.TextField()
    profile = models.JSONField(
        default=dict, help_text="Age/sex/deprivation profile, over-represented indicators, outcomes."
    )

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="cluster_number_unique")]


class PersonSegment(models.Model):
    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="people")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="segments")
    cluster = models.PositiveSmallIntegerField(null=True)
    cluster_probability = models.FloatField(null=True)
    condition_count = models.PositiveSmallIntegerField()
    mltc = models.BooleanField()
    complex_mltc = models.BooleanField()
    cms_score = models.FloatField()
    efi_score = models.FloatField()
    efi_category = models.CharField(max_length=16)
    medicine_count_3m = models.PositiveSmallIntegerField()
    unplanned_contacts_12m = models.PositiveSmallIntegerField()
    features = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "person"], name="person_segment_unique")]
        indexes = [models.Index(fields=["run", "cluster"]), models.Index(fields=["person", "run"])]


class RegisterEntry(models.Model):
    """Why a person is on the MLTC register: each condition with the code and date that put it there."""

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="register")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    condition_id = models.CharField(max_length=64)
    condition_name = models.CharField(max_length=255)
    system = models.CharField(max_length=255, blank=True)
    code = models.CharField(max_length=64, blank=True)
    date = models.DateField(null=True)
    evidence = models.CharField(max_length=32, default="diagnosis")

    class Meta:
        indexes = [models.Index(fields=["run", "person"])]


class WorklistEntry(models.Model):
    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="worklist_entries")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    list_id = models.CharField(max_length=64)
    reasons = models.JSONField(default=list, help_text="Why the person is on the list, in words.")
    source = models.TextField(blank=True, help_text="The rule's citation.")
    added_by_clinician = models.BooleanField(default=False)
    priority = models.FloatField(
        default=0, help_text="The list's priority score: the sum of the points of priority_parts."
    )
    priority_parts = models.JSONField(
        default=list, help_text="What makes up the priority: [{reason, points}], from the rule's weights."
    )
    practice = models.ForeignKey(
        "record.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text="The person's registered practice when the lists were worked out (the practice filter).",
    )

    class Meta:
        indexes = [
            models.Index(fields=["run", "list_id"]),
            models.Index(fields=["run", "list_id", "-priority"], name="worklist_run_list_priority"),
            # covers the worklist page's counts: entries of the people in a user's care, by list and
            # practice, without reading the wide rows (PostgreSQL; SQLite ignores INCLUDE)
            models.Index(fields=["run", "person"], include=["list_id", "practice"], name="worklist_run_person_cover"),
        ]


class WorklistOverride(models.Model):
    """A clinician adds a person to a list or removes them, with a reason. Survives re-runs."""

    class Action(models.TextChoices):
        ADD = "add", "Add to list"
        REMOVE = "remove", "Remove from list"

    # A removal lasts until its review date (default 6 months, worklist_rules.yaml removals); from that
    # day the rule decides again. An addition lasts until changed.

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    list_id = models.CharField(max_length=64)
    action = models.CharField(max_length=8, choices=Action.choices)
    reason = models.TextField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(
        default=True, help_text="False once superseded by a later override of the same list."
    )
    review_on = models.DateField(
        null=True,
        blank=True,
        help_text="A removal: the day from which the person may return to the list (None: until changed).",
    )

    class Meta:
        indexes = [models.Index(fields=["person", "list_id", "active"])]
