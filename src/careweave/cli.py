"""The `careweave` command. Every command honours DATABASE_URL (default: ./careweave.sqlite3)."""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, cast

import typer
from rich.console import Console
from rich.table import Table

from careweave.jobs.commands import build_worker_command, worker_beside
from careweave.medicines.commands import build_medicines_app
from careweave.population.continuity.commands import build_measures_app
from careweave.portal.commands import build_portal_app
from careweave.progress import AsOfOption, EngineOption, console, progress_bar
from careweave.progress import engine_and_date as _engine_and_date
from careweave.questionnaires.commands import build_questionnaires_app
from careweave.referrals.commands import build_referrals_app
from careweave.reviews.commands import build_reviews_app

app = typer.Typer(
    help="CareWeave: joined-up care for people living with multiple long-term conditions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
lca_app = typer.Typer(help="Latent class analysis for analysts.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(lca_app, name="lca")
terminology_app = typer.Typer(
    help="The organisation's own SNOMED CT and dm+d releases and OpenCodelists code lists.",
    no_args_is_help=True,
)
app.add_typer(terminology_app, name="terminology")


def setup_django(migrate: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careweave.config.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


@app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(help="FHIR files or folders: .json, .ndjson and their .gz")],
    source: Annotated[
        str | None, typer.Option(help="Source system URI, when resources carry no meta.source")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, help="NDJSON resources written per committed batch (ADR 0016)")
    ] = 2000,
) -> None:
    """Import FHIR R4 data: Bundles, resources, and NDJSON files (or a Bulk Data $export manifest)
    loaded as one set. Exits 0 only if everything was imported."""
    setup_django()
    from careweave.fhir.files import expand, import_paths
    from careweave.fhir.importer import Importer
    from careweave.governance.audit import record_system_event

    importer = Importer(source_system=source)
    started = time.perf_counter()
    files = expand(paths)
    if as_json or not sys.stderr.isatty():
        import_paths(importer, paths, batch_size=batch_size)
    else:
        with progress_bar() as progress:
            task = progress.add_task("Importing", total=len(files))
            import_paths(importer, paths, progress=lambda _p: progress.advance(task), batch_size=batch_size)
    seconds = time.perf_counter() - started
    summary = importer.summary
    record_system_event(
        "import",
        "cli",
        detail=f"{summary.files} files, {summary.total('created')} created, {len(summary.errors)} errors",
    )
    from careweave.jobs.tasks import refresh_after_import

    # the lists are refreshed on the queue (`careweave worker`), one refresh however many imports
    refresh_after_import(
        (o for c in summary.counts.values() for o, n in c.items() if n), source="careweave import"
    )
    if as_json:
        typer.echo(json.dumps({**summary.as_json(), "seconds": round(seconds, 3)}, indent=2))
    else:
        _print_import_summary(summary, seconds)
    raise typer.Exit(0 if summary.ok else 1)


def _print_import_summary(summary: Any, seconds: float) -> None:
    table = Table(title=f"Import summary ({summary.files} files, {seconds:.1f} s)")
    for column in ("resource type", "created", "updated", "unchanged", "skipped", "deleted"):
        table.add_column(column, justify="right" if column != "resource type" else "left")
    for kind, counts in sorted(summary.counts.items()):
        table.add_row(
            kind, *(str(counts.get(o, 0)) for o in ("created", "updated", "unchanged", "skipped", "deleted"))
        )
    out = Console()
    out.print(table)
    if summary.warnings:
        out.print(f"[yellow]{len(summary.warnings)} warnings[/yellow] (use --json to list them)")
    if summary.errors:
        out.print(f"[red]{summary.units_refused} file(s) refused; nothing from them was written:[/red]")
        for issue in summary.errors[:50]:
            out.print(f"  [red]error[/red] {issue.as_fhir()['diagnostics']}")


@app.command()
def synth(
    people: Annotated[int, typer.Option(help="Number of people")],
    out: Annotated[Path, typer.Option(help="Output folder for the NDJSON files")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same population)")] = 1,
    practices: Annotated[int | None, typer.Option(help="Number of general practices")] = None,
) -> None:
    """Generate a synthetic MLTC population as FHIR R4 NDJSON."""
    from careweave.synth import generate

    with progress_bar() as progress:
        task = progress.add_task("Generating people", total=people)
        summary = generate(
            people, seed, out, practices=practices, progress=lambda n: progress.update(task, completed=n)
        )
    console.print(
        f"Wrote {sum(summary.resources.values()):,} resources for {summary.people:,} people to {out} in {summary.seconds:.1f} s"
    )


@token_app.command("create")
def token_create(
    username: str, label: Annotated[str, typer.Option(help="What the token is for")] = "cli"
) -> None:
    """Print a new API token for USERNAME (shown once; only its hash is stored)."""
    setup_django()
    from django.contrib.auth import get_user_model

    from careweave.governance.models import ApiToken

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        console.print(f"[red]No user called {username}[/red]")
        raise typer.Exit(1)
    typer.echo(ApiToken.issue(user, label))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    threads: Annotated[
        int, typer.Option(help="Worker threads (on 2 cores, more than 4 only adds contention)")
    ] = 4,
) -> None:
    """Serve the web app and the FHIR API."""
    _check_port(host, port)  # before the migrations: a port in use is said at once, in one line
    setup_django()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server

    application = StaticFilesHandler(get_wsgi_application())
    try:
        server = create_server(application, host=host, port=port, threads=threads, ident="careweave")
    except OSError as problem:
        _cannot_listen(host, port, problem)
    console.print(f"CareWeave on http://{host}:{port}/  (FHIR API at http://{host}:{port}/fhir)")
    server.run()


def _cannot_listen(host: str, port: int, problem: OSError) -> NoReturn:
    # One line, not a traceback: the usual causes are another server on the port or a port needing root.
    why = {
        errno.EADDRINUSE: "is already in use",
        errno.EACCES: "needs permissions this user does not have",
        errno.EADDRNOTAVAIL: "is not an address of this machine",
    }.get(problem.errno or 0, f"cannot be used ({problem.strerror or problem})")
    console.print(
        f"[red]error:[/red] cannot listen on {host}:{port}: the port {why}. "
        "Stop the other server or choose another port with --port."
    )
    raise typer.Exit(1)


def _check_port(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as problem:
        console.print(f"[red]error:[/red] cannot listen on {host}:{port}: {problem}")
        raise typer.Exit(1) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
        try:
            probe.bind(address)
        except OSError as problem:
            _cannot_listen(host, port, problem)


@app.command()
def demo(
    people: Annotated[int, typer.Option(help="Size of the synthetic population")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 42,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the database and stop")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the demo accounts as JSON")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Build the demo database (synthetic population, accounts, tokens) and serve it, with its worker."""
    os.environ.setdefault("CAREWEAVE_DEMO", "1")
    setup_django()
    from careweave.demo import build_demo

    accounts = build_demo(people=people, seed=seed, console=console)
    if as_json:
        typer.echo(json.dumps(accounts, indent=2))
    else:
        out = Console()
        out.print(
            f"\n[bold]Sign in at http://{host}:{port}/login/[/bold] as any of these users, password [bold]{accounts[0]['password']}[/bold]"
        )
        table = Table(title="Demo accounts")
        for column in ("username", "role", "organisation"):
            table.add_column(column)
        for account in accounts:
            table.add_row(account["username"], account["role"], account["organisation"] or "")
        out.print(table)
        out.print(
            f"FHIR API at http://{host}:{port}/fhir with a bearer token (Authorization: Bearer <token>):"
        )
        for account in accounts:
            if account["api_token"]:  # the person and carer accounts sign in at /my/sign-in/, with no token
                typer.echo(f"  {account['username']:<13} {account['api_token']}")
    if not no_serve:
        with worker_beside():  # the task queue's worker (ADR 0015), stopped with the server
            serve(host=host, port=port)


@app.command()
def segment(
    engine: EngineOption = "duckdb",
    classes: Annotated[str, typer.Option(help="Number of clusters, or 'auto' to choose by BIC")] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    as_of: AsOfOption = None,
    export: Annotated[
        Path | None, typer.Option(help="Write per-person results and cluster summaries as Parquet here")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """MLTC register, clusters of health and social need, and worklists, stored as a versioned run."""

    when = _engine_and_date(engine, as_of)
    try:
        k: int | Literal["auto"] = "auto" if classes == "auto" else int(classes)
    except ValueError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    setup_django()
    from careweave.segmentation.run import run_segmentation

    with console.status("Segmenting") as status:
        try:
            run, result = run_segmentation(
                engine=cast(Literal["duckdb", "spark"], engine),  # checked above
                classes=k,
                seed=seed,
                as_of=when,
                export_dir=export,
                progress=lambda stage: status.update(f"Segmenting: {stage}"),
            )
        except ValueError as error:
            console.print(f"[red]error:[/red] {error}")
            raise typer.Exit(1) from None
    lists: dict[str, int] = {}
    for list_id in result.worklists.column("list_id").to_pylist():
        lists[list_id] = lists.get(list_id, 0) + 1
    summary = {
        "run": run.pk,
        "version": run.version,
        "engine": engine,
        "as_of": str(run.as_of),
        "people": run.people_count,
        "register_size": run.register_size,
        "n_classes": run.n_classes,
        "model_version": run.model_version,
        "class_selection": run.class_selection,
        "clusters": [
            {
                "cluster": c.number,
                "size": c.size,
                "share": round(c.share, 4),
                "label": c.label,
                "description": c.staff_description,
            }
            for c in run.clusters.all()
        ],
        "worklists": lists,
        "timings": run.timings,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    out = Console()
    out.print(
        f"Run {run.pk} ({run.version}) on {engine}: {run.people_count:,} people, {run.register_size:,} on the MLTC register, {run.n_classes} clusters"
    )
    table = Table(title="Clusters of health and social need")
    for column in ("cluster", "people", "share", "over-represented"):
        table.add_column(column)
    for c in summary["clusters"]:
        table.add_row(str(c["cluster"]), f"{c['size']:,}", f"{c['share']:.0%}", c["label"])
    out.print(table)
    lists_table = Table(title="Worklists")
    lists_table.add_column("list")
    lists_table.add_column("people", justify="right")
    for list_id, count in sorted(lists.items()):
        lists_table.add_row(list_id, f"{count:,}")
    out.print(lists_table)
    out.print("Timings: " + ", ".join(f"{k} {v['seconds']:.1f} s" for k, v in run.timings.items()))


@app.command()
def register(
    as_of: AsOfOption = None,
    engine: EngineOption = "duckdb",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per person")] = False,
) -> None:
    """The MLTC register: everyone alive with a library condition, the codes that put each condition
    there, CMS and eFI, and why a rule set anyone aside (``excluded``)."""

    when = _engine_and_date(engine, as_of)
    setup_django()
    from careweave.segmentation.run import register_listing

    listing = register_listing(as_of=when, engine=cast(Literal["duckdb", "spark"], engine))  # checked above
    if as_json:
        typer.echo(json.dumps(listing, indent=2))
        return
    on_register = sum(1 for entry in listing if entry["on_register"])
    excluded = sum(1 for entry in listing if entry["excluded"])
    console.print(
        f"{len(listing):,} people with a long-term condition, {on_register:,} on the MLTC register, "
        f"{excluded:,} set aside by a rule (use --json for each person)"
    )


@lca_app.command("fit")
def lca_fit(
    file: Annotated[Path, typer.Argument(help="CSV: one row per person, columns are categorical indicators")],
    classes: Annotated[str, typer.Option(help="Number of classes, or 'auto' to choose by BIC")] = "auto",
    starts: Annotated[int, typer.Option(help="Random starts")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    smoothing: Annotated[
        float,
        typer.Option(
            help="Pseudo-counts added to every category and class (MAP fit). The default 0 is the "
            "maximum-likelihood fit poLCA, Mplus and StepMix report"
        ),
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the fit as JSON")] = False,
) -> None:
    """Fit a latent class model to your own CSV (maximum likelihood unless --smoothing is given)."""
    from careweave.population.lca import fit_csv

    try:
        k: int | Literal["auto"] = "auto" if classes == "auto" else int(classes)
        if isinstance(k, int) and k < 1:
            raise ValueError("--classes must be at least 1")
        result = fit_csv(file, classes=k, starts=starts, seed=seed, smoothing=smoothing)
    except (ValueError, OSError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=float))
    else:
        console.print(
            f"log-likelihood {result['loglik']:.2f}, BIC {result['bic']:.2f}, entropy {result['entropy']:.3f}"
        )
        console.print(f"class sizes: {result['class_sizes']}")


def _terminology_load(title: str, load: Any, as_json: bool, describe: Any) -> None:
    """Run a terminology load with a progress bar (unless --json or not a terminal), then print its
    result as JSON or as the line `describe` makes of it; bad input exits 2 with the file, line and
    field, never a traceback."""
    from careweave.terminology.ecl import EclError
    from careweave.terminology.store import ReleaseError

    try:
        if as_json or not sys.stderr.isatty():
            result: dict[str, Any] = load(None)
        else:
            with progress_bar() as progress:
                task = progress.add_task(title, total=None)

                def report(stage: str, done: int, total: int) -> None:
                    progress.update(task, description=f"{title}: {stage}", completed=done, total=total)

                result = load(report)
    except (ReleaseError, EclError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    except OSError as error:
        console.print(f"[red]error:[/red] {error.filename or ''}: {error.strerror or error}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        console.print(describe(result))


def _describe_snomed(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    return (
        f"SNOMED CT release {manifest['release_id']}: {counts['active_concepts']:,} active concepts, "
        f"{counts['isa_edges']:,} is-a relationships, {counts['closure_rows']:,} closure rows "
        f"in {manifest['seconds']:.1f} s"
    )


def _describe_dmd(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    return (
        f"dm+d release {manifest['release_id']}: {counts['vtm']:,} VTMs, {counts['vmp']:,} VMPs, "
        f"{counts['amp']:,} AMPs" + ("" if manifest["bnf_atc"] else " (no BNF/ATC bonus file given)")
    )


def _describe_codelist(summary: dict[str, Any]) -> str:
    verb = "replaced" if summary["replaced"] else "stored"
    return f"Code list {summary['name']} {verb}: {summary['codes']:,} {summary['system']} codes"


@terminology_app.command("load-snomed")
def terminology_load_snomed(
    path: Annotated[
        Path, typer.Argument(help="RF2 release folder or .zip (e.g. the UK Clinical Edition from TRUD)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the release manifest as JSON")] = False,
) -> None:
    """Load a SNOMED CT RF2 Snapshot (or Full) release as the hierarchy code lists are expanded against."""
    from careweave.terminology.snomed import load_snomed

    _terminology_load(
        "SNOMED CT", lambda report: load_snomed(path, progress=report), as_json, _describe_snomed
    )


@terminology_app.command("load-codelist")
def terminology_load_codelist(
    file: Annotated[Path, typer.Argument(help="CSV downloaded from OpenCodelists")],
    name: Annotated[
        str, typer.Option("--as", help="Name to store it under (loading a name again replaces it)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Load an OpenCodelists CSV download; every code is checked, one bad row refuses the file."""
    from careweave.terminology.codelists import load_codelist

    _terminology_load("Code list", lambda _report: load_codelist(file, name), as_json, _describe_codelist)


@terminology_app.command("load-dmd")
def terminology_load_dmd(
    paths: Annotated[
        list[Path], typer.Argument(help="dm+d XML release folder (and the bonus folder with f_bnf1)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the release manifest as JSON")] = False,
) -> None:
    """Load the dm+d XML release (VTM, VMP, AMP; BNF and ATC codes from the bonus release)."""
    from careweave.terminology.dmd import load_dmd

    _terminology_load("dm+d", lambda report: load_dmd(paths, progress=report), as_json, _describe_dmd)


app.add_typer(build_referrals_app(setup_django), name="referrals")
app.add_typer(build_reviews_app(setup_django), name="reviews")
app.add_typer(build_measures_app(setup_django), name="measures")
app.command("worker")(build_worker_command(setup_django))
app.add_typer(build_medicines_app(setup_django), name="medicines")
app.add_typer(build_questionnaires_app(setup_django), name="questionnaires")
app.add_typer(build_portal_app(setup_django), name="portal")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
