"""The Jinja2 environment: NHS.UK frontend macros plus our own templates."""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from django.urls import reverse
from django_htmx.jinja import django_htmx_script
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape


def environment(**options: Any) -> Environment:
    loader = options.pop("loader", None)
    loaders = [loader] if loader else []
    from jinja2 import FileSystemLoader

    from careweave.config.settings import BASE_DIR

    loaders = [FileSystemLoader(str(BASE_DIR / "web" / "jinja2")), PackageLoader("nhsuk_frontend_jinja", "templates")]
    options.pop("autoescape", None)
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html", "jinja", "j2"]), **options)
    env.globals.update({"static": static, "url": lambda name, *a, **k: reverse(name, args=a, kwargs=k), "django_htmx_script": django_htmx_script})
    return env
