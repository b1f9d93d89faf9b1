"""``careweave reviews``: the consolidated review planner on the command line. The CLI registers it
with one line, handing in its Django setup (this app may not import the CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Literal, cast

import typer

from careweave.progress import console, engine_and_date


def build_reviews_app(setup_django: Callable[[], None]) -> typer.Typer:
    reviews_app = typer.Typer(help="One review per person, one blood draw (issue 14).", no_args_is_help=True)

    @reviews_app.command("plan")
    def plan_command(
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Planning date YYYY-MM-DD (default today)")
        ] = None,
        person: Annotated[
            str | None, typer.Option("--person", help="Only this person: NHS number or CareWeave person id")
        ] = None,
        engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
        as_json: Annotated[bool, typer.Option("--json", help="Print the reviews as a JSON array")] = False,
    ) -> None:
        """Everyone with a monitoring item due in the planning horizon: one review each, the items
        merged into it with their rules, the blood tests once each with every reason, the phlebotomy
        date, the slot length, the clinician type and the usual clinician."""
        when = engine_and_date(engine, as_of)
        setup_django()
        from careweave.reviews.planning import UnknownPerson, resolve_person, review_plan

        try:
            person_id = None if person is None else resolve_person(person)
        except UnknownPerson as error:
            console.print(f"[red]error:[/red] {error}")
            raise typer.Exit(2) from None
        listing = review_plan(as_of=when, person=person_id, engine=cast(Literal["duckdb", "spark"], engine))
        if as_json:
            typer.echo(json.dumps(listing, indent=2))
            return
        bloods = sum(1 for review in listing if review["bloods"])
        double = sum(1 for review in listing if review["slot_reasons"])
        console.print(
            f"{len(listing):,} reviews due in the horizon, {bloods:,} with a blood test, "
            f"{double:,} double slots (use --json for each review)"
        )

    @reviews_app.command("refresh")
    def refresh_command(
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Planning date YYYY-MM-DD (default today)")
        ] = None,
    ) -> None:
        """Work the plan out again and keep it per practice for the practice planner page (/reviews/):
        run nightly, or after a large import."""
        given = engine_and_date("duckdb", as_of)
        setup_django()
        from django.utils import timezone

        from careweave.reviews.services import refresh_plans

        when = given or timezone.localdate()
        count = refresh_plans(as_of=when)
        console.print(f"{count:,} reviews planned as of {when.isoformat()}, kept per practice")

    return reviews_app
