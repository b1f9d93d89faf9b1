"""Request types for view signatures: what the middleware and decorators add to an HttpRequest.

They exist for the type checker only (nothing is constructed from them): Django's own `HttpRequest`
has no `htmx`, and its `user` may be anonymous even behind `login_required`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """Every request: django_htmx's HtmxMiddleware (in settings.MIDDLEWARE) sets `htmx`."""

    htmx: HtmxDetails


class StaffHttpRequest(HtmxHttpRequest):
    """A request served by a view behind `login_required` (e.g. `clinical_staff_only`): a signed-in user."""

    user: User
