"""Who may see what, and the record of who saw what.

Roles and the legitimate relationship rules are in `careweave.governance.access`; this module holds
the tables: staff profiles (role and organisation), API tokens, care-team membership, break-glass
and the append-only audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models

from careweave.record import models as rm


class Role(models.TextChoices):
    GP = "gp", "GP"
    NURSE = "nurse", "Nurse"
    PHARMACIST = "pharmacist", "Pharmacist"
    CARE_COORDINATOR = "care-coordinator", "Care co-ordinator"
    SOCIAL_WORKER = "social-worker", "Social worker"
    LINK_WORKER = "link-worker", "Voluntary-sector link worker"
    ADMINISTRATOR = "administrator", "Administrator"
    ANALYST = "analyst", "Analyst"
    INTEGRATOR = "integrator", "Integration client"


CLINICAL_ROLES = frozenset(
    {Role.GP, Role.NURSE, Role.PHARMACIST, Role.CARE_COORDINATOR, Role.SOCIAL_WORKER, Role.LINK_WORKER}
)


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    organisation = models.ForeignKey(
        "record.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="staff"
    )
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"


class CareTeamMember(models.Model):
    """A member of the team caring for one person: gives that user a legitimate relationship."""

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="care_team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_teams")
    role_in_team = models.CharField(max_length=128, blank=True)
    is_coordinator = models.BooleanField(default=False)
    #: How the person, their carer or another service reaches this member about this person: a direct
    #: line, an extension or a team number. Printed on the care plan under "Who to contact".
    contact = models.CharField(max_length=255, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "user"], name="care_team_member_unique")]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once when created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)

    @classmethod
    def issue(cls, user: Any, label: str = "") -> str:
        token = "cw_" + secrets.token_urlsafe(32)
        cls.objects.create(user=user, token_hash=_hash_token(token), label=label)
        return token

    @classmethod
    def user_for(cls, token: str) -> Any | None:
        found = (
            cls.objects.select_related("user").filter(token_hash=_hash_token(token), revoked=False).first()
        )
        if found is None or not found.user.is_active:
            return None
        return found.user


class AppendOnlyError(Exception):
    pass


def patient_ids(person_pks: Iterable[int]) -> dict[int, str]:
    """The Patient logical id of each person, in one query: kept on audit rows as a plain value."""
    wanted = set(person_pks)
    if not wanted:
        return {}
    return dict(rm.Person.objects.filter(pk__in=wanted).values_list("pk", "resource__logical_id"))


def _cached_patient_id(row: models.Model) -> str | None:
    """The Patient id from an already loaded person (open_break_glass passes one), saving a query."""
    person = row._state.fields_cache.get("person")
    resource = person._state.fields_cache.get("resource") if person is not None else None
    return resource.logical_id if resource is not None else None


# Who a row is about (AuditEntry and BreakGlass). The audit must outlive the record it describes (a
# transaction can delete a Patient), so the person's id is kept with no constraint and no deletion
# rule: DO_NOTHING with db_constraint=False keeps the join for the audit pages while the row is never
# nulled or cascaded; PROTECT would instead make every audited person undeletable. The id alone means
# nothing once the person is gone, so person_ref keeps their Patient id ("Patient/<id>, since removed").
# null=True so select_related uses an outer join: a removed person reads as None instead of the row
# silently dropping out of the query.
PERSON_REF_HELP = "The person's Patient id, kept if their record is removed."


class AboutPerson(models.Model):
    """The person a row is about, kept as described above (abstract: the columns are each model's own)."""

    person = models.ForeignKey(
        "record.Person", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    person_ref = models.CharField(max_length=64, blank=True, help_text=PERSON_REF_HELP)

    class Meta:
        abstract = True

    def fill_person_ref(self) -> None:
        """Keep the person's Patient id with the row, so it still says whom it was about once they are gone."""
        if self.person_id is not None and not self.person_ref:
            self.person_ref = _cached_patient_id(self) or patient_ids([self.person_id]).get(self.person_id, "")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """No bulk change or deletion through the ORM; the database refuses them too (migration 0003)."""

    def bulk_create(self, objs: Iterable[AuditEntry], *args: Any, **kwargs: Any) -> list[AuditEntry]:
        objs = list(objs)
        refs = patient_ids(o.person_id for o in objs if o.person_id is not None and not o.person_ref)
        for o in objs:
            if o.person_id is not None and not o.person_ref:
                o.person_ref = refs.get(o.person_id, "")
        return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit entries cannot be changed")

    def _update(self, values: Any) -> Any:
        raise AppendOnlyError("audit entries cannot be changed")

    def bulk_update(self, objs: Iterable[AuditEntry], fields: Iterable[str], batch_size: int | None = None) -> int:
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(AboutPerson):
    """One access to or change of a person's record. Append-only: rows are never updated or deleted."""

    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    system_actor = models.CharField(
        max_length=128, blank=True, help_text="Set when a process, not a user, acted."
    )
    action = models.CharField(
        max_length=32
    )  # read, search, create, update, export, import, break-glass, login
    resource_type = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=64, blank=True)
    break_glass = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, default="success")
    channel = models.CharField(max_length=16, default="web")  # web | api | cli

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["person", "recorded_at"]),
            models.Index(fields=["person_ref"], name="audit_person_ref_idx"),  # a removed person's audit
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        self.fill_person_ref()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit entries cannot be deleted")


REVIEW_FIELDS = frozenset({"reviewed_by", "reviewed_at", "review_note"})


class BreakGlassQuerySet(models.QuerySet["BreakGlass"]):
    """A break-glass record is kept for good; only its one review may be written later (the database
    enforces that the review is written once, from empty: migration 0003)."""

    def update(self, **kwargs: Any) -> int:
        if not kwargs.keys() <= REVIEW_FIELDS | {"reviewed_by_id"}:
            raise AppendOnlyError("break-glass records cannot be changed, only reviewed")
        return super().update(**kwargs)

    def bulk_update(self, objs: Iterable[BreakGlass], fields: Iterable[str], batch_size: int | None = None) -> int:
        raise AppendOnlyError("break-glass records cannot be changed, only reviewed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("break-glass records cannot be deleted")


class BreakGlass(AboutPerson):
    """Access to a person outside the user's care, with the stated reason; listed for review."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # person: never empty (the constraint below), nullable only for the outer join, as on AuditEntry
    reason = models.TextField()
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, help_text="What the reviewer found: justified, or followed up.")

    objects = BreakGlassQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(person__isnull=False), name="break_glass_has_person")
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            fields = kwargs.get("update_fields")
            if not fields or not set(fields) <= REVIEW_FIELDS:
                raise AppendOnlyError("break-glass records cannot be changed, only reviewed")
        else:
            self.fill_person_ref()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("break-glass records cannot be deleted")


class SharingConsent(models.Model):
    """A person's sharing choice or national data opt-out, projected from a FHIR Consent in the
    record (ADR 0021): when, who recorded it and how it was given. The choices it makes are in
    `SharingChoice`, recomputed from all of the person's active Consents whenever one is written."""

    resource = models.OneToOneField("record.StoredResource", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=32)
    scope = models.CharField(max_length=32)  # patient-privacy | research
    given_on = models.DateTimeField(null=True, blank=True)
    recorded_by = models.CharField(max_length=255, blank=True)
    method = models.CharField(max_length=32, blank=True)  # verbal | written | online | proxy
    opts_out = models.BooleanField(default=False, help_text="An active national data opt-out.")


class SharingChoice(models.Model):
    """The person's net choice for one kind of organisation and one part of the record: shared or
    withheld. Absent: the role's and sector's default (terminology/data/record_sharing.yaml)."""

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    organisation_kind = models.CharField(max_length=32)
    part = models.CharField(max_length=32)
    shared = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organisation_kind", "part"], name="sharing_choice_unique"
            )
        ]
        indexes = [models.Index(fields=["organisation_kind", "part", "shared"])]
