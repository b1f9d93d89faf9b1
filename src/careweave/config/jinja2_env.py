"""The Jinja2 environment: NHS.UK frontend macros plus our own templates."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.templatetags.static import static
from django.urls import reverse
from django_htmx.jinja import django_htmx_script
from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    PackageLoader,
    select_autoescape,
)

from careweave.governance.permissions import Permission, has


def can(user: Any, permission: str) -> bool:
    """Templates ask what a user may do by permission name (`can(request.user, "READ_AUDIT")`), never by role."""
    return has(user, Permission[permission])


def environment(**options: Any) -> Environment:
    # Our templates first: each app's own jinja2/ folder (APP_DIRS), as Django's loader finds them;
    # then the NHS.UK components (`nhsuk/components/<name>/macro.jinja`).
    ours = options.pop("loader")
    options.pop("autoescape", None)
    # The NHS.UK macros read optional nested parameters (params.a.b), which needs ChainableUndefined.
    options["undefined"] = ChainableUndefined
    loader = ChoiceLoader(
        [
            ours,
            PackageLoader("nhsuk_frontend_jinja", "templates"),
        ]
    )
    env = Environment(loader=loader, autoescape=select_autoescape(["html", "jinja", "j2"]), **options)
    env.globals.update(
        {
            "static": static,
            "url": lambda name, *a, **k: reverse(name, args=a, kwargs=k),
            "django_htmx_script": django_htmx_script,
            "get_messages": get_messages,
            "can": can,
        }
    )
    # Counts with thousands separators (1,234), as people read them.
    env.filters["number"] = lambda value: f"{value:,}" if isinstance(value, int) else value
    return env
