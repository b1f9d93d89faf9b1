"""Person and carer accounts, their one-time codes and outbox, proxy grants, what a clinician hides
from proxies, the person's messages to their team and a carer's own needs (ADR 0019).

Codes are kept as SHA-256 hashes only; the code itself is shown once (activation) or delivered to
the outbox (second factor)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


class Share(models.TextChoices):
    """The parts of a person's record a carer may be given (the NHS App's proxy model)."""

    PLAN = "plan", "Care plan and what matters to them"
    TEAM = "team", "Their care team and how to reach them"
    MEDICINES = "medicines", "Medicines"
    APPOINTMENTS = "appointments", "Appointments and reviews"
    REFERRALS = "referrals", "Referrals and waits"
    READINGS = "readings", "Home readings"
    ACCESS = "access", "Who has looked at their record"
    MESSAGES = "messages", "Asking their team a question for them"


class PersonAccount(models.Model):
    """A person-facing account: the person's own (person set) or a carer's (person empty; the people
    they act for are their ProxyGrants). Never a staff account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person_account"
    )
    person = models.ForeignKey(
        "record.Person",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The person themselves; empty for a carer's account.",
    )
    display_name = models.CharField(
        max_length=255, blank=True, help_text="A carer's name (a person's comes from the record)."
    )
    send_codes_to = models.CharField(
        max_length=255, blank=True, help_text="Email or mobile for sign-in codes."
    )
    activation_code_hash = models.CharField(max_length=64, blank=True)
    activation_expires_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"PersonAccount {self.pk}"

    @property
    def is_carer(self) -> bool:
        return self.person_id is None


class SignInCode(models.Model):
    """A one-time second-factor code: single use, short-lived, a few tries."""

    account = models.ForeignKey(PersonAccount, on_delete=models.CASCADE, related_name="sign_in_codes")
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)


class OutboxMessage(models.Model):
    """The local outbox: where sign-in codes are delivered in the embedded default (no external host)."""

    account = models.ForeignKey(PersonAccount, on_delete=models.CASCADE, related_name="outbox")
    to = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)


class ProxyGrant(models.Model):
    """A carer's proxy access to one person, on the person's recorded agreement or a recorded lasting
    power of attorney for health, to the parts the person agreed to share."""

    class Basis(models.TextChoices):
        AGREEMENT = "agreement", "The person's recorded agreement"
        LPA_HEALTH = "lpa-health", "Lasting power of attorney for health and welfare"

    account = models.ForeignKey(PersonAccount, on_delete=models.CASCADE, related_name="proxy_grants")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=16, choices=Basis.choices)
    evidence = models.CharField(max_length=500, help_text="Where the agreement or the LPA is recorded.")
    shares = models.JSONField(default=list, help_text="The Share values the person agreed to.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "person"], condition=models.Q(revoked_at=None), name="one_open_proxy_grant"
            )
        ]


class HiddenFromProxy(models.Model):
    """An item of the person's record a clinician marked as not for carers to see."""

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey("record.StoredResource", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=255, blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "resource"], name="hidden_from_proxy_once")]


class PersonMessage(models.Model):
    """Something the person (or their carer) told their team: an addition to what matters to them, or
    a question. Each becomes a task for the named co-ordinator (the staff task list)."""

    class Kind(models.TextChoices):
        WHAT_MATTERS = "what-matters", "What matters to me"
        QUESTION = "question", "A question for my team"

    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    by_proxy = models.BooleanField(default=False)
    task = models.ForeignKey(
        "huddles.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    #: The team's answer to a question, shown to the person in their view.
    reply = models.TextField(blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class CarerNeeds(models.Model):
    """A carer's own needs, in their words, and whether they want a carer's assessment (Care Act 2014
    s.10). Each saving is a new row: the latest is current."""

    account = models.ForeignKey(PersonAccount, on_delete=models.CASCADE, related_name="needs")
    person = models.ForeignKey("record.Person", on_delete=models.CASCADE, related_name="+")
    needs = models.TextField(blank=True)
    wants_assessment = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
