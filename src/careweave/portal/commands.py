"""``careweave portal``: give a person or a carer online access from the command line, and read the
local outbox. The CLI registers it with one line, handing in its Django setup."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer

from careweave.progress import console


def build_portal_app(setup_django: Callable[[], None]) -> typer.Typer:
    portal_app = typer.Typer(
        help="The person's own view and carers' proxy access (issue 16).", no_args_is_help=True
    )

    @portal_app.command("create-account")
    def create_account(
        person: Annotated[str, typer.Option("--person", help="The person: NHS number or Patient id")],
        by: Annotated[
            str, typer.Option("--by", help="Username of the clinician giving access (needs a relationship)")
        ],
        carer_name: Annotated[
            str, typer.Option("--carer-name", help="Create a carer's proxy account instead")
        ] = "",
        basis: Annotated[str, typer.Option(help="For a carer: agreement or lpa-health")] = "agreement",
        evidence: Annotated[
            str, typer.Option(help="For a carer: where the agreement or LPA is recorded")
        ] = "",
        share: Annotated[
            list[str] | None, typer.Option("--share", help="For a carer: what is shared (repeat)")
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print {username, activation_code, expires_at}")
        ] = False,
    ) -> None:
        """Create an account with a one-time activation code (shown once: give it to the person)."""
        setup_django()
        from django.contrib.auth import get_user_model

        from careweave.governance.permissions import AccessRefused
        from careweave.portal import accounts
        from careweave.record import models as rm

        user = get_user_model()._default_manager.filter(username=by).first()
        found = (
            rm.Person.objects.filter(nhs_number=person).first()
            or rm.Person.objects.filter(
                resource__logical_id=person, resource__resource_type="Patient"
            ).first()
        )
        if user is None or found is None:
            console.print(
                "[red]error:[/red] " + ("--by: no such user" if user is None else "--person: no such person")
            )
            raise typer.Exit(2)
        try:
            if carer_name:
                account, code = accounts.create_carer_account(
                    user=user,
                    person=found,
                    name=carer_name,
                    basis=basis,
                    evidence=evidence,
                    shares=share or [],
                )
            else:
                account, code = accounts.create_person_account(user=user, person=found)
        except (accounts.AccountError, AccessRefused) as refused:
            console.print(f"[red]error:[/red] {getattr(refused, 'message', None) or refused}")
            raise typer.Exit(1) from None
        expires = account.activation_expires_at.isoformat() if account.activation_expires_at else ""
        if as_json:
            typer.echo(
                json.dumps(
                    {"username": account.user.username, "activation_code": code, "expires_at": expires}
                )
            )
        else:
            typer.echo(f"username: {account.user.username}\nactivation code: {code}\nexpires: {expires}")

    @portal_app.command("outbox")
    def outbox(username: Annotated[str, typer.Argument(help="The person's or carer's username")]) -> None:
        """The latest messages in the local outbox for one account (the embedded default's codes)."""
        setup_django()
        from careweave.portal.models import OutboxMessage

        for message in OutboxMessage.objects.filter(account__user__username=username).order_by("-pk")[:3]:
            typer.echo(f"{message.created_at:%Y-%m-%d %H:%M} {message.body}")

    return portal_app
