"""Who may see what, and the record of who saw what.

Roles and the legitimate relationship rules are in `careweave.governance.access`; this module holds
the tables: staff profiles (role and organisation), API tokens, care-team membership, break-glass
and the append-only audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import models


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


class AuditEntry(models.Model):
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
    person = models.ForeignKey("record.Person", null=True, on_delete=models.SET_NULL, related_name="+")
    purpose = models.CharField(max_length=64, blank=True)
    break_glass = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, default="success")
    channel = models.CharField(max_length=16, default="web")  # web | api | cli

    class Meta:
        indexes = [models.Index(fields=["person", "recorded_at"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit entries cannot be deleted")


class BreakGlass(models.Model):
    """Access to a person outside the user's care, with the stated reason; listed for review."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, help_text="What the reviewer found: justified, or followed up.")
