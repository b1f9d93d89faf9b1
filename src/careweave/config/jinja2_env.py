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
    FileSystemLoader,
    PackageLoader,
    select_autoescape,
)

from careweave.config.settings import BASE_DIR
from careweave.governance.access import role_of


def environment(**options: Any) -> Environment:
    # Our templates first, then the NHS.UK components (`nhsuk/components/<name>/macro.jinja`).
    options.pop("loader", None)
    options.pop("autoescape", None)
    # The NHS.UK macros read optional nested parameters (params.a.b), which needs ChainableUndefined.
    options["undefined"] = ChainableUndefined
    loader = ChoiceLoader(
        [
            FileSystemLoader(str(BASE_DIR / "web" / "jinja2")),
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
            "role_of": role_of,
        }
    )
    return env
