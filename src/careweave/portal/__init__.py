"""The person's own view and their carers' proxy access (issue 16, ADR 0019).

Owns person and carer accounts (activation codes, the second factor by one-time code, the local
outbox), proxy grants, the items clinicians hide from proxies, and the person-facing pages under
``/my/`` with the staff page that creates accounts under ``/online-access/``. A person-facing
interface: it composes the workspace's presenters (``web``) and the feature apps, and every read
goes through ``governance.access.open_record(permission=Permission.OWN_RECORD)``. Imported only by
``config`` (urls), ``demo`` and ``cli``.
"""
