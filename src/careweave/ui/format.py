"""How the workspace writes dates, NHS numbers, ages and members of staff (NHS design system)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from careweave.record import models as rm

NOT_RECORDED = "Not recorded"


def format_nhs_number(value: str | None) -> str:
    """NHS numbers are shown 3-3-4 with spaces (NHS design system), e.g. 943 476 5919."""
    if not value:
        return NOT_RECORDED
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else value


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return NOT_RECORDED
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return f"{value.day} {value:%B %Y}"


def age_in_years(birth: date | None, on: date | None = None) -> int | None:
    if birth is None:
        return None
    on = on or timezone.localdate()
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def staff_name(user: User) -> str:
    return user.get_full_name().strip() or user.get_username()


def staff_role(user: Any) -> str:
    profile = getattr(user, "staff_profile", None)
    return profile.get_role_display() if profile else "No role"


def staff_organisation(user: Any) -> rm.Organisation | None:
    profile = getattr(user, "staff_profile", None)
    return profile.organisation if profile else None


def staff_name_and_role(user: Any) -> str:
    """'Name (Role)': who did something, on summaries, huddles and tasks."""
    profile = getattr(user, "staff_profile", None)
    name = user.get_full_name() or user.get_username()
    return f"{name} ({profile.get_role_display()})" if profile else name
