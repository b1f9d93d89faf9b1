"""``careweave measures``: measures computed from a file on the command line, with no database.

``careweave measures continuity FILE.csv [--json]``: each person's continuity indices from a CSV of
``person,date,clinician`` rows. The CLI registers the app with one line, handing in its Django setup
for measures that read the record; the continuity command never calls it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

_err = Console(stderr=True, highlight=False)


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(2)


def _date_option(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def build_measures_app(setup_django: Callable[[], None]) -> typer.Typer:
    """The ``measures`` sub-app. ``setup_django`` is for measures read from the record (none yet)."""
    del setup_django
    measures_app = typer.Typer(
        help="Measures that matter (issue 17): continuity of care.", no_args_is_help=True
    )

    @measures_app.command("continuity")
    def continuity_command(
        file: Annotated[
            Path, typer.Argument(help="CSV with columns person,date,clinician (one row per contact)")
        ],
        start: Annotated[str | None, typer.Option("--from", help="First date counted, YYYY-MM-DD")] = None,
        end: Annotated[str | None, typer.Option("--to", help="Last date counted, YYYY-MM-DD")] = None,
        engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
        as_json: Annotated[
            bool, typer.Option("--json", help="Print a JSON array, one object per person")
        ] = False,
    ) -> None:
        """Continuity of care per person: contacts, clinicians, UPC, COC, HHI, MMCI and SECON (null where
        undefined: COC and SECON need two contacts). Formulas and sources: terminology/data/continuity.yaml."""
        if engine not in ("duckdb", "spark"):
            raise _fail("--engine must be duckdb or spark")
        from .engines import indices  # here, not at the top: the CLI starts without loading DuckDB
        from .extract import ContactFileError, read_contacts_csv
        from .spec import ContinuityQuestion

        first, last = _date_option(start, "--from"), _date_option(end, "--to")
        if first is not None and last is not None and last < first:
            raise _fail(f"--to ({last}) is before --from ({first})")
        question = ContinuityQuestion.of(first, last)
        try:
            table = read_contacts_csv(file)
        except ContactFileError as error:
            raise _fail(str(error)) from None
        people = indices(table, question, cast(Literal["duckdb", "spark"], engine))
        if as_json:
            typer.echo(json.dumps([person.as_json() for person in people], indent=2))
            return
        out = Console()
        listing = Table(title=f"Continuity of care: {len(people):,} people, {table.num_rows:,} contacts")
        for column in ("person", "contacts", "clinicians", "UPC", "COC", "HHI", "MMCI", "SECON"):
            listing.add_column(column, justify="left" if column == "person" else "right")
        for p in people:
            listing.add_row(
                p.person, str(p.visits), str(p.clinicians),
                *(_number(v) for v in (p.upc, p.coc, p.hhi, p.mmci, p.secon)),
            )  # fmt: skip
        out.print(listing)
        out.print("- : undefined (fewer than two contacts). Use --json for the values.")

    return measures_app
