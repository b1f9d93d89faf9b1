"""A review invitation round for N people (issue 18's figure): channel choice from each person's
recorded needs, letters rendered as tagged PDF/UA, and Notify's official client sending to the local
stand-in (in-process, loopback), each attempt written as a Communication with its CommunicationRequest.

    uv run python bench/bench_invitations.py [--people 10000] [--letters 500]

Prints the round's time against the goal (10k people in under 2 minutes on 2 cores), and, measured in
the same run as baselines: the channel choice alone (pure, no database) and the letter PDF rendering
rate alone. Then delivers every notification and sends the delivery receipts through the callback path.
A fresh SQLite database in bench/out each run.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
GOAL_SECONDS = 120.0
GOAL_PEOPLE = 10_000


def _setup() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "invitations.sqlite3"
    db.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careweave.config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _population(n: int) -> list[int]:
    """N people with a realistic mix of contact details and needs (mobile, email, app, letter only,
    large print, easy read, interpreter, via carer, no digital access)."""
    import orjson
    from django.utils import timezone

    from careweave.contact.models import ContactPreference
    from careweave.record import models as rm

    rnd = random.Random(18)
    now = timezone.now()
    practice_res = rm.StoredResource.objects.create(
        resource_type="Organization",
        logical_id="bench-practice",
        source_system="bench",
        source_id="p",
        content_hash="0",
        body="{}",
        last_updated=now,
    )
    practice = rm.Organisation.objects.create(resource=practice_res, name="Riverside Surgery")
    resources, people = [], []
    for i in range(n):
        telecom = []
        if rnd.random() < 0.75:
            telecom.append(
                {
                    "system": "phone",
                    "use": "mobile",
                    "value": f"07700{rnd.randint(900100, 900999)}",
                    "rank": 1,
                }
            )
        if rnd.random() < 0.4:
            telecom.append({"system": "email", "value": f"person{i}@example.org", "rank": 2})
        if rnd.random() < 0.02:
            telecom = [
                {"system": "phone", "use": "mobile", "value": "07700900002", "rank": 1}
            ]  # fails: falls back
        body = {
            "resourceType": "Patient",
            "telecom": telecom,
            "address": [{"line": [f"{i} High Street"], "city": "Leeds", "postalCode": "LS1 1AA"}],
        }
        resources.append(
            rm.StoredResource(
                resource_type="Patient",
                logical_id=f"bench-{i}",
                source_system="bench",
                source_id=str(i),
                content_hash=str(i),
                body=orjson.dumps(body).decode(),
                last_updated=now,
            )
        )
    rm.StoredResource.objects.bulk_create(resources, batch_size=2000)
    for i, res in enumerate(rm.StoredResource.objects.filter(resource_type="Patient").order_by("pk")):
        roll = rnd.random()
        needs = (
            ["936721000000107"]
            if roll < 0.08
            else ["957331000000109"]
            if roll < 0.14
            else ["796161000000101"]
            if roll < 0.17
            else ["203311000000101"]
            if roll < 0.20
            else []
        )
        people.append(
            rm.Person(
                resource=res,
                given_name="Bench",
                family_name=f"Person{i}",
                registered_practice=practice,
                accessible_information_needs=needs,
                digital_access="none" if rnd.random() < 0.08 else "online",
                preferred_language="cy" if rnd.random() < 0.03 else "en",
            )
        )
    rm.Person.objects.bulk_create(people, batch_size=2000)
    ids = list(rm.Person.objects.order_by("pk").values_list("pk", flat=True))
    ContactPreference.objects.bulk_create(
        [ContactPreference(person_id=pk, app_registered=True) for pk in ids if rnd.random() < 0.3],
        batch_size=2000,
    )
    return ids


def _choice_alone(n: int) -> float:
    from careweave.population.contact import ContactNeeds, Reachable, plan_route
    from careweave.terminology.loading.accessible_information import load_accessible_information

    table = load_accessible_information()
    needs = [
        ContactNeeds(person=Reachable(mobile="07700900111", address="x"), needs=table.of([c]))
        for c in ("", "936721000000107", "957331000000109", "719561001")
    ]
    start = time.perf_counter()
    for i in range(n):
        plan_route(needs[i % 4], translations={"en", "cy"})
    return time.perf_counter() - start


def _letters_alone(n: int) -> float:
    from careweave.contact.letters import Letter, render_pdf

    details = {"name": "Jo Bloggs", "phone": "0113 496 0000", "sender": "Riverside Surgery"}
    start = time.perf_counter()
    for i in range(n):
        render_pdf(
            Letter(
                purpose="review-invitation",
                details=details | {"name": f"Jo {i}"},
                address=("Jo", "1 High Street", "LS1 1AA"),
                letter_format=("standard", "large_print", "easy_read")[i % 3],
            )
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=GOAL_PEOPLE)
    parser.add_argument("--letters", type=int, default=500)
    parser.add_argument(
        "--receipts", type=int, default=1000, help="delivery statuses to read and apply (a sample)"
    )
    args = parser.parse_args()
    _setup()

    from careweave.contact.models import Communication, CommunicationRequest
    from careweave.contact.notify import NotifyGateway
    from careweave.contact.notify_standin import API_KEY
    from careweave.contact.services import contact_round, record_delivery

    t0 = time.perf_counter()
    ids = _population(args.people)
    print(f"population: {len(ids):,} people made in {time.perf_counter() - t0:.1f} s", flush=True)

    choice = _choice_alone(args.people)
    letters = _letters_alone(args.letters)
    # the stand-in in its own process (the second core), as Notify is another service
    standin = subprocess.Popen(
        [sys.executable, "-m", "careweave.contact.notify_standin", "--port", "0", "--settle-on-read"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert standin.stdout is not None
    base_url = standin.stdout.readline().split()[3]
    gateway = NotifyGateway(api_key=API_KEY, base_url=base_url)
    start = time.perf_counter()
    contact_round(
        ids,
        purpose="review-invitation",
        system_actor="bench invitations",
        gateway=gateway,
        details={"phone": "0113 496 0000"},
    )
    round_seconds = time.perf_counter() - start
    channels = Counter(Communication.objects.values_list("channel", flat=True))
    formats = Counter(
        CommunicationRequest.objects.filter(attempts__channel="letter").values_list(
            "letter_format", flat=True
        )
    )
    start = time.perf_counter()
    receipts = 0
    for notify_id in list(
        Communication.objects.exclude(notify_id="").values_list("notify_id", flat=True)[: args.receipts]
    ):
        record_delivery(
            notify_id=notify_id, status=gateway.status(notify_id), gateway=gateway
        )  # Notify's status
        receipts += 1
    receipts_seconds = time.perf_counter() - start
    standin.terminate()
    standin.wait()
    statuses = Counter(Communication.objects.values_list("channel", "status"))

    scaled = round_seconds * GOAL_PEOPLE / args.people
    print(
        f"\nreview invitation round, {args.people:,} people (cores: {os.cpu_count()}, load average "
        f"{os.getloadavg()[0]:.1f} at the end):"
    )
    print(
        f"  round (choice + letters + Notify calls + records): {round_seconds:.1f} s"
        f"  ({args.people / round_seconds:,.0f} people/s)"
    )
    print(
        f"  goal: {GOAL_PEOPLE:,} people under {GOAL_SECONDS:.0f} s -> {scaled:.1f} s for {GOAL_PEOPLE:,}: "
        f"{'MET' if scaled < GOAL_SECONDS else 'MISSED'}"
    )
    print(
        f"  baseline, channel choice alone (pure): {choice:.2f} s for {args.people:,} ({args.people / choice:,.0f}/s)"
    )
    print(
        f"  letter PDF rendering alone (tagged PDF/UA-1, typst): {args.letters / letters:,.0f} letters/s "
        f"({1000 * letters / args.letters:.1f} ms each)"
    )
    print(f"  first attempts by channel: {dict(channels)}")
    print(f"  letters by format: {dict(formats)}")
    print(
        f"  delivery statuses read through the client and applied (record_delivery): {receipts:,} in {receipts_seconds:.1f} s"
    )
    print(f"  attempts by channel and status after receipts: {dict(sorted(statuses.items()))}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
