"""Progress shown by long commands: the stderr console and progress bar shared by `cli` and `demo`.

Its own module so that `demo` (called by the CLI) does not import `cli` back. Output goes to stderr,
so a command's --json output on stdout stays clean. Also the --engine and --as-of options the
population commands share (here, not in `cli`, because feature apps' sub-apps use them too and may not
import the CLI). Django-free; imports only rich and typer.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


def progress_bar(on: Console | None = None) -> Progress:
    """The progress bar of every long command (to stderr, so --json output stays clean)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=on or console,
        transient=False,
    )


#: ``--as-of``: the reference date of a population command (checked by :func:`engine_and_date`).
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Reference date YYYY-MM-DD (default today)")
]
#: ``--engine``: where a population command runs (checked by :func:`engine_and_date`).
EngineOption = Annotated[str, typer.Option(help="duckdb (default) or spark")]


def engine_and_date(engine: str, as_of: str | None) -> dt.date | None:
    """The --engine and --as-of of the population commands, checked: a bad one exits 2 saying which."""
    if engine not in ("duckdb", "spark"):
        console.print("[red]error:[/red] --engine must be duckdb or spark")
        raise typer.Exit(2)
    try:
        return dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        console.print(f"[red]error:[/red] --as-of must be a date YYYY-MM-DD, got {as_of!r}")
        raise typer.Exit(2) from None


def print_findings(findings: list[dict[str, Any]], *, key: str, heading: str, as_json: bool) -> None:
    """A scan's findings: one JSON object per line with --json, else a count per kind (by ``key``)."""
    if as_json:
        for finding in findings:
            typer.echo(json.dumps(finding))
        return
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding[key]] = counts.get(finding[key], 0) + 1
    summary = ", ".join(f"{n:,} {kind}" for kind, n in sorted(counts.items())) or "no findings"
    console.print(f"{heading}: {summary} (use --json for each finding)")
