"""``careweave questionnaires``: load a licensed instrument an organisation holds, and list what is known.
The CLI registers it with one line, handing in its Django setup (this package may not import the CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from careweave.progress import console


def build_questionnaires_app(setup_django: Callable[[], None]) -> typer.Typer:
    app = typer.Typer(help="Questionnaires (PROMs and PREMs) as FHIR (issue 17).", no_args_is_help=True)

    @app.command("load")
    def load_command(
        path: Annotated[
            Path, typer.Argument(help="A FHIR R4 Questionnaire (.json) with its licence and source")
        ],
    ) -> None:
        """Load an instrument whose licence the organisation holds (MTBQ, EQ-5D, PACIC...): refused,
        naming the file and element, without a licence or a source, or with scoring we cannot evaluate."""
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            console.print(f"[red]error:[/red] {path.name}: cannot read a JSON Questionnaire: {error}")
            raise typer.Exit(2) from None
        setup_django()
        from careweave.governance.audit import record_system_event
        from careweave.questionnaires.definitions import DefinitionError
        from careweave.questionnaires.services import accept_questionnaire

        try:
            definition = accept_questionnaire(body, where=path.name, loaded_by="cli")
        except DefinitionError as refused:
            console.print(f"[red]error:[/red] {refused}")
            raise typer.Exit(2) from None
        record_system_event(
            "questionnaire-load", "careweave questionnaires load", detail=definition.canonical
        )
        validated = "a validated instrument" if definition.validated else "NOT a validated instrument"
        console.print(
            f"Loaded Questionnaire/{definition.logical_id}: {definition.title} ({validated}; {definition.licence})"
        )

    @app.command("list")
    def list_command() -> None:
        """The Questionnaires known here, and the licensed instruments CareWeave does not ship."""
        setup_django()
        from careweave.questionnaires.catalogue import all_definitions, licensed_not_shipped

        for d in all_definitions():
            note = "validated" if d.validated else "not validated"
            console.print(f"{d.logical_id}\t{d.canonical}\t{d.status}\t{note}\t{d.licence}")
        for item in licensed_not_shipped():
            console.print(f"(not shipped)\t{item['name']}\t{item['title']}\tload with: {item['load']}")

    return app
