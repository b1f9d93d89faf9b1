"""Build the demo: a synthetic population imported through the real FHIR importer, and accounts for
each role at real organisations of that population, with API tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rich.console import Console

from careweave.fhir.files import expand, import_paths
from careweave.fhir.importer import Importer
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.monitoring.demo import add_demo_home_readings
from careweave.portal.demo import create_portal_demo_accounts
from careweave.progress import progress_bar
from careweave.record import models as rm
from careweave.reviews.services import refresh_plans
from careweave.segmentation.models import SegmentationRun
from careweave.segmentation.run import run_segmentation
from careweave.synth import DEFAULT_REFERENCE_DATE, generate

DEMO_PASSWORD = "CareWeave-demo-2026"  # printed for the demo only; never used outside it

# (username, role, sector of the organisation, which one of that sector)
DEMO_ACCOUNTS: tuple[tuple[str, Role, str | None, int], ...] = (
    ("gp", Role.GP, "general-practice", 0),
    ("nurse", Role.NURSE, "general-practice", 0),
    ("pharmacist", Role.PHARMACIST, "general-practice", 0),
    ("coordinator", Role.CARE_COORDINATOR, "general-practice", 0),
    ("gp2", Role.GP, "general-practice", 1),
    ("socialworker", Role.SOCIAL_WORKER, "social-care", 0),
    ("linkworker", Role.LINK_WORKER, "voluntary", 0),
    ("admin", Role.ADMINISTRATOR, None, 0),
    ("analyst", Role.ANALYST, None, 0),
    ("integrator", Role.INTEGRATOR, None, 0),
)


def build_demo(
    *, people: int, seed: int, console: Console, workdir: Path | None = None
) -> list[dict[str, Any]]:
    workdir = workdir or Path.cwd() / ".demo"
    out = workdir / f"synth-{people}-{seed}"
    source = f"urn:careweave:synth:{seed}"
    progress = progress_bar(console)
    if not (out / "Patient.ndjson").exists():
        with progress:
            task = progress.add_task("Generating people", total=people)
            generate(people, seed, out, progress=lambda n: progress.update(task, completed=n))
    already = rm.StoredResource.objects.filter(source_system=source, resource_type="Patient").count()
    if already < people:
        importer = Importer(source_system=source)
        files = expand([out])
        with progress_bar(console) as bar:
            task = bar.add_task("Importing FHIR files", total=len(files))
            import_paths(importer, [out], progress=lambda _p: bar.advance(task))
        if not importer.summary.ok:
            for issue in importer.summary.errors[:10]:
                console.print(f"[red]{issue.as_fhir()['diagnostics']}[/red]")
            raise SystemExit("the demo population did not import cleanly")
        console.print(f"Imported {importer.summary.total('created'):,} resources for {people:,} people")
    else:
        console.print(f"Demo population of {already:,} people already imported")
    if not SegmentationRun.objects.filter(is_current=True).exists():
        with console.status("Finding the MLTC register, clusters and worklists"):
            # the synthetic records run up to the generator's reference date, so measure windows from it
            run, _ = run_segmentation(as_of=DEFAULT_REFERENCE_DATE, seed=seed)
        console.print(f"MLTC register: {run.register_size:,} people in {run.n_classes} clusters")
        with console.status("Planning reviews for each practice"):
            planned = refresh_plans(as_of=DEFAULT_REFERENCE_DATE, actor="careweave demo")
        console.print(f"Review planner: {planned:,} reviews due in the next 12 weeks")
    return create_accounts() + create_portal_demo_accounts(password=DEMO_PASSWORD)


@transaction.atomic
def create_accounts() -> list[dict[str, Any]]:
    user_model = get_user_model()
    by_sector: dict[str, list[rm.Organisation]] = {}
    for org in rm.Organisation.objects.order_by("pk"):
        by_sector.setdefault(org.sector, []).append(org)
    accounts = []
    for username, role, sector, index in DEMO_ACCOUNTS:
        orgs = by_sector.get(sector or "", [])
        organisation = orgs[min(index, len(orgs) - 1)] if orgs else None
        user, _ = user_model.objects.get_or_create(
            username=username, defaults={"first_name": username.capitalize()}
        )
        user.set_password(DEMO_PASSWORD)
        user.is_staff = role == Role.ADMINISTRATOR
        user.save()
        StaffProfile.objects.update_or_create(
            user=user,
            defaults={"role": role, "organisation": organisation, "failed_logins": 0, "locked_until": None},
        )
        accounts.append(
            {
                "username": username,
                "password": DEMO_PASSWORD,
                "role": role.value,
                "organisation": organisation.name if organisation else None,
                "api_token": ApiToken.issue(user, "demo"),
            }
        )
    add_demo_home_readings()  # issue 16: home readings and the Tasks they raise (careweave.monitoring)
    return accounts
