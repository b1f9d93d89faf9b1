"""``careweave referrals``: the referral scan on the command line. The CLI registers it with one line,
handing in its Django setup (this app may not import the CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Literal, cast

import typer

from careweave.progress import AsOfOption, EngineOption, console, engine_and_date


def build_referrals_app(setup_django: Callable[[], None]) -> typer.Typer:
    referrals_app = typer.Typer(help="Referrals and waiting lists (issue 15).", no_args_is_help=True)

    @referrals_app.command("scan")
    def scan_command(
        as_of: AsOfOption = None,
        engine: EngineOption = "duckdb",
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per finding")] = False,
    ) -> None:
        """Referral loops, people lost on waiting lists, episodes closed without an outcome letter and
        referrals due for waiting-list validation, each explained with its dates and citation."""
        when = engine_and_date(engine, as_of)
        setup_django()
        from careweave.referrals.scan import referral_findings

        findings = referral_findings(as_of=when, engine=cast(Literal["duckdb", "spark"], engine))
        if as_json:
            for finding in findings:
                typer.echo(json.dumps(finding))
            return
        counts: dict[str, int] = {}
        for finding in findings:
            counts[finding["finding"]] = counts.get(finding["finding"], 0) + 1
        summary = ", ".join(f"{n:,} {kind}" for kind, n in sorted(counts.items())) or "no findings"
        console.print(f"Referral findings: {summary} (use --json for each finding)")

    return referrals_app
