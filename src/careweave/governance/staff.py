"""Finding staff accounts by what people type: a name, a username, a role or an organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

#: Words of a search used at most: more only slow the query down.
MOST_WORDS = 5


def staff_matching(users: QuerySet[Any], query: str, *, roles: bool = True) -> QuerySet[Any]:
    """`users` whose first or last name, username, organisation (or role, with `roles`) holds every
    word of `query`; all of them for an empty query."""
    for word in query.split()[:MOST_WORDS]:
        found = (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(staff_profile__organisation__name__icontains=word)
        )
        if roles:
            found |= Q(staff_profile__role__icontains=word)
        users = users.filter(found)
    return users
