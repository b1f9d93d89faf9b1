"""``careweave medicines``: the medicines review on the command line. The CLI registers it with one
line, handing in its Django setup (this package may not import the CLI)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal, cast

import typer

from careweave.progress import console, print_findings


def build_medicines_app(setup_django: Callable[[], None]) -> typer.Typer:
    medicines_app = typer.Typer(help="Medicines optimisation (issue 13).", no_args_is_help=True)

    @medicines_app.command("review")
    def review_command(
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default today)")
        ] = None,
        person: Annotated[
            str | None, typer.Option("--person", help="One person: NHS number or Patient id")
        ] = None,
        engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per finding")] = False,
    ) -> None:
        """PINCER indicators, STOPP/START v3 (the computable subset), anticholinergic burden,
        duplication, polypharmacy and falls-risk medicines, each finding with its medicines and source."""
        if engine not in ("duckdb", "spark"):
            console.print("[red]error:[/red] --engine must be duckdb or spark")
            raise typer.Exit(2)
        try:
            when = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            console.print(f"[red]error:[/red] --as-of must be a date YYYY-MM-DD, got {as_of!r}")
            raise typer.Exit(2) from None
        setup_django()
        from careweave.medicines.review import UnknownPerson, medicines_findings

        try:
            findings = medicines_findings(
                as_of=when, person=person, engine=cast(Literal["duckdb", "spark"], engine)
            )
        except UnknownPerson:
            console.print("[red]error:[/red] --person: no person in the record has that NHS number or id")
            raise typer.Exit(2) from None
        print_findings(findings, key="rule", heading="Medicines review findings", as_json=as_json)

    return medicines_app
