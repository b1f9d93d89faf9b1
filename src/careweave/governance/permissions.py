"""What each role may do: the one role -> permission table (after job-server's authorization/roles.py).

Nothing outside `careweave.governance` compares roles; it asks `has(user, Permission.X)` or
`require(user, Permission.X)`. Whether a user may see a particular person is a different question
(a legitimate relationship, consent, break-glass), answered by `governance.access.open_record`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from django.core.exceptions import PermissionDenied

from careweave.governance.models import CLINICAL_ROLES, Role


class Permission(Enum):
    READ_RECORDS = "read people's records (each person still needs a relationship)"
    WRITE_RECORDS = "write to people's records (each person still needs a relationship)"
    READ_REFERENCE_DATA = "read organisations, practitioners and other shared reference data"
    WRITE_REFERENCE_DATA = "write organisations, practitioners and other shared reference data"
    POST_BUNDLES = "post transaction and batch bundles"
    BREAK_GLASS = "open emergency access to a person outside one's care"
    CARE_PLANNING = "see and change care plans, care teams and handover notes"
    HUDDLES = "take part in MDT huddles and own tasks"
    WORKLISTS = "see worklists and add or remove people with a reason"
    VIEW_POPULATION = "see suppressed aggregate figures for the population"
    VIEW_OUTCOMES = "see the analysts' outcomes by cluster and inequality (suppressed aggregates)"
    READ_AUDIT = "read the audit log and people's access reports"
    REVIEW_BREAK_GLASS = "review emergency accesses"
    MERGE_RECORDS = "merge two people's records or move a resource between records"
    USE_WORKSPACE = "use the clinical workspace: the people in one's care, their summaries, worklists and tasks"
    # Held by no staff role: a person's own account, or a carer's with the person's recorded agreement
    # (issue 16, ADR 0019); decided per person by `governance.access.decide_own`.
    OWN_RECORD = "see one's own record, or as a carer what the person agreed to share"


_CLINICAL = frozenset(
    {
        Permission.READ_RECORDS,
        Permission.WRITE_RECORDS,
        Permission.READ_REFERENCE_DATA,
        Permission.BREAK_GLASS,
        Permission.CARE_PLANNING,
        Permission.HUDDLES,
        Permission.WORKLISTS,
        Permission.VIEW_POPULATION,
        Permission.USE_WORKSPACE,
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    **{role: _CLINICAL for role in CLINICAL_ROLES},
    Role.ADMINISTRATOR: frozenset(
        {
            Permission.READ_REFERENCE_DATA,
            Permission.WRITE_REFERENCE_DATA,
            Permission.VIEW_POPULATION,
            Permission.READ_AUDIT,
            Permission.REVIEW_BREAK_GLASS,
            Permission.MERGE_RECORDS,
        }
    ),
    Role.ANALYST: frozenset({Permission.VIEW_POPULATION, Permission.VIEW_OUTCOMES}),
    # Integration clients act for the systems that feed the record: they read and write all of it
    # (every access still audited), but never sign in to the workspace.
    Role.INTEGRATOR: frozenset(
        {
            Permission.READ_RECORDS,
            Permission.WRITE_RECORDS,
            Permission.READ_REFERENCE_DATA,
            Permission.WRITE_REFERENCE_DATA,
            Permission.POST_BUNDLES,
        }
    ),
}

# The people a role reaches without a relationship of its own: integration clients, everyone.
SEES_EVERYONE = frozenset({Role.INTEGRATOR})


class AccessRefused(PermissionDenied):
    """The one refusal: every interface translates it once (a 403 page, a FHIR OperationOutcome).

    `hide` asks the interface to answer as for something that does not exist, where saying "not
    allowed" would reveal that a person's record exists (FHIR reads: 404 like HAPI and Medplum).
    `person_pk` names the one person refused when break-glass could open their record, so the web
    can offer it. A `PermissionDenied`, so one that no interface translates is still a 403, never a 500."""

    def __init__(self, reason: str, *, hide: bool = False, heading: str = "", person_pk: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hide = hide
        self.heading = heading
        self.person_pk = person_pk


def role_of(user: Any) -> str | None:
    profile = getattr(user, "staff_profile", None)
    return profile.role if profile is not None else None


def has(user: Any, permission: Permission) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return False
    role = role_of(user)
    return role is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())


def require(user: Any, permission: Permission, reason: str | None = None) -> None:
    if not has(user, permission):
        raise AccessRefused(reason or refusal_for(user, permission))


def roles_with(permission: Permission) -> list[str]:
    """The roles that hold a permission, for queries such as "the staff who can join a huddle"."""
    return sorted(role for role, held in ROLE_PERMISSIONS.items() if permission in held)


def sees_everyone(user: Any) -> bool:
    return role_of(user) in SEES_EVERYONE


def is_clinical(user: Any) -> bool:
    """Clinical staff: the roles whose access to a person rests on a relationship (and break-glass)."""
    return role_of(user) in CLINICAL_ROLES


def refusal_for(user: Any, permission: Permission) -> str:
    role = role_of(user)
    if role is None:
        return "this account has no role here: ask your administrator"
    if role == Role.ANALYST:
        return "analysts see aggregate figures only, never a person's record"
    if role == Role.ADMINISTRATOR:
        return "administrators manage accounts, reference data and the audit, not clinical records"
    return f"your role cannot {permission.value}"
