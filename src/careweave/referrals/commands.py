"""``careweave referrals``: the referral scan on the command line. The CLI registers it with one line,
handing in its Django setup (this app may not import the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, cast

import typer

from careweave.progress import AsOfOption, EngineOption, engine_and_date, print_findings


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
        print_findings(findings, key="finding", heading="Referral findings", as_json=as_json)

    return referrals_app
