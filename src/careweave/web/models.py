"""Sign-in throttling state: one row per failed sign-in, by client address (and account, when known).

Kept in the database, not a cache: the in-process cache is per worker, so waitress threads and a
second process would each count separately. Rows older than the lockout period are deleted as new
failures arrive; the audit log (governance.AuditEntry) keeps the lasting record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SignInFailure(models.Model):
    address = models.GenericIPAddressField(unpack_ipv4=True)
    # Null for a username that is no account: its failures count only against the address, and the
    # typed name is never stored (people type patient details into the wrong box).
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["address", "account", "at"], name="web_signin_address_account"),
            models.Index(fields=["address", "at"], name="web_signin_address"),
        ]

    def __str__(self) -> str:
        return f"sign-in failure {self.pk}"
