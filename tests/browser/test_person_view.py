"""The person's own view in a real browser at 320 px wide (a small phone): the person activates their
account, signs in with their password and the code from the local outbox, reads their plan and their
medicines, asks a question; axe on every person page, and no page scrolls sideways. The carer's pages
too, with what Alice did not share left out."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from careweave.huddles.models import Task
from careweave.portal import accounts
from careweave.portal.models import PersonAccount
from careweave.portal.urls import PAGE_EXAMPLES, PERSON_PAGES
from tests.browser.conftest import serious_accessibility_violations
from tests.portal.conftest import PERSON_PASSWORD, latest_code, portal_world  # noqa: F401 (fixture)
from tests.web.conftest import person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 320


def check(page: Any, what: str) -> None:
    """Accessible, and nothing wider than the phone (no horizontal scroll)."""
    assert serious_accessibility_violations(page) == [], what
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, what


def sign_in_to_view(page: Any, base: str, account: PersonAccount) -> None:
    page.goto(f"{base}/my/sign-in/")
    check(page, "sign-in")
    page.get_by_label("Username").fill(account.user.username)
    page.get_by_label("Password", exact=True).fill(PERSON_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/my/sign-in/code/")
    check(page, "code")
    page.get_by_role("link", name="Open the outbox to read your code").click()
    page.wait_for_url(f"{base}/my/sign-in/outbox/")
    check(page, "outbox")
    code = re.search(r"\b(\d{6})\b", page.locator(".careweave-outbox-body").first.inner_text())
    assert code is not None and code.group(1) == latest_code(account)
    page.get_by_role("link", name="Go back and enter your code").click()
    page.get_by_label("Your code").fill(code.group(1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_the_person_activates_signs_in_and_reads_their_plan_and_medicines(
    live_server: Any,
    browser: Any,
    portal_world: dict[str, Any],  # noqa: F811
) -> None:
    base, alice = live_server.url, portal_world["alice"]
    page = browser.new_page(viewport={"width": WIDTH, "height": 640})

    # a newcomer sets up their account with the practice's code
    newcomer = person("Cai", "New", None, portal_world["practice_a"])
    account, code = accounts.create_person_account(user=portal_world["gp_a"], person=newcomer)
    page.goto(f"{base}/my/activate/")
    check(page, "activate")
    page.get_by_label("Username").fill(account.user.username)
    page.get_by_label("Activation code").fill(code)
    page.get_by_label("Choose a password").fill(PERSON_PASSWORD)
    page.get_by_label("Type the password again").fill(PERSON_PASSWORD)
    page.get_by_role("button", name="Set up my account").click()
    page.wait_for_url(f"{base}/my/sign-in/")

    own = PersonAccount.objects.select_related("user").get(pk=portal_world["alice_account"].pk)
    sign_in_to_view(page, base, own)
    page.wait_for_url(f"{base}/my/{alice.pk}/")
    assert page.get_by_role("heading", name="Hello, Alice Zephyrine").is_visible()
    check(page, "overview")

    page.get_by_role("link", name="Care plan and what matters to you").click()
    page.wait_for_url(f"{base}/my/{alice.pk}/plan/")
    assert page.get_by_text("Getting to chapel on Sundays.").is_visible()
    check(page, "plan")

    page.goto(f"{base}/my/{alice.pk}/")
    page.get_by_role("link", name="Medicines").click()
    page.wait_for_url(f"{base}/my/{alice.pk}/medicines/")
    assert page.get_by_role("heading", name="Metformin 500mg tablets").is_visible()
    assert page.get_by_text("One tablet twice a day").is_visible()
    check(page, "medicines")

    page.goto(f"{base}/my/{alice.pk}/ask/")
    page.get_by_label("Your question").fill("Can I take metformin with food?")
    page.get_by_role("button", name="Send question").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your question has been sent").is_visible()
    assert Task.objects.filter(person=alice, owner=portal_world["gp_a"]).exists()

    for name in PERSON_PAGES:
        if name == "carer":
            continue
        page.goto(
            base + reverse(f"portal:{name}", kwargs={"person_pk": alice.pk, **PAGE_EXAMPLES.get(name, {})})
        )
        assert page.title() and "Not found" not in page.title(), name
        check(page, name)


def test_the_carer_pages_show_only_what_was_shared(
    live_server: Any,
    browser: Any,
    portal_world: dict[str, Any],  # noqa: F811
) -> None:
    base, alice = live_server.url, portal_world["alice"]
    page = browser.new_page(viewport={"width": WIDTH, "height": 640})
    carer = PersonAccount.objects.select_related("user").get(pk=portal_world["carer_account"].pk)
    sign_in_to_view(page, base, carer)
    page.wait_for_url(f"{base}/my/")
    check(page, "carer home")
    page.get_by_role("link", name="Alice Zephyrine").click()
    page.wait_for_url(f"{base}/my/{alice.pk}/")
    assert page.get_by_role("link", name="Home readings").count() == 0
    check(page, "carer overview")
    for path in ("medicines/", "referrals/", "plan/", "carer/"):
        page.goto(f"{base}/my/{alice.pk}/{path}")
        check(page, path)
    page.goto(f"{base}/my/{alice.pk}/medicines/")
    assert "Sertraline" not in page.content()


def test_a_clinician_gives_a_carer_online_access(
    live_server: Any,
    browser: Any,
    portal_world: dict[str, Any],  # noqa: F811
) -> None:
    from tests.browser.conftest import sign_in
    from tests.web.conftest import PASSWORD

    base, alice, gp = live_server.url, portal_world["alice"], portal_world["gp_a"]
    gp.set_password(PASSWORD)
    gp.save()
    page = browser.new_page()
    sign_in(page, base, gp.username)
    page.goto(f"{base}/care/people/{alice.pk}/plan/")
    page.get_by_role("link", name="Online access").click()
    page.wait_for_url(f"{base}/online-access/people/{alice.pk}/")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Carer's name").fill("Dewi Zephyrine")
    page.get_by_label("Lasting power of attorney for health and welfare").check()
    page.get_by_label("Where the agreement or power of attorney is recorded").fill(
        "LPA registered, ref 7000-1234"
    )
    page.get_by_label("Medicines").check()
    page.get_by_role("button", name="Create carer account and activation code").click()
    page.wait_for_load_state()
    assert page.get_by_text("Activation code:").is_visible()
    assert serious_accessibility_violations(page) == []
    assert PersonAccount.objects.filter(display_name="Dewi Zephyrine").exists()


def test_the_person_sends_a_reading_and_reads_the_coordinators_reply(
    live_server: Any,
    browser: Any,
    portal_world: dict[str, Any],  # noqa: F811
) -> None:
    from careweave.jobs.worker import run_worker
    from tests.browser.conftest import sign_in
    from tests.web.conftest import PASSWORD

    base, alice, gp = live_server.url, portal_world["alice"], portal_world["gp_a"]
    page = browser.new_page(viewport={"width": WIDTH, "height": 640})
    own = PersonAccount.objects.select_related("user").get(pk=portal_world["alice_account"].pk)
    sign_in_to_view(page, base, own)
    page.wait_for_url(f"{base}/my/{alice.pk}/")

    page.get_by_role("link", name="Home readings").click()
    page.wait_for_url(f"{base}/my/{alice.pk}/readings/")
    check(page, "readings")
    page.get_by_role("link", name="Send a blood pressure reading").click()
    check(page, "reading form")
    page.get_by_label("Systolic blood pressure").fill("300")
    page.get_by_label("Diastolic blood pressure").fill("200")
    page.get_by_role("button", name="Send reading").click()
    page.wait_for_load_state()
    assert page.get_by_text("There is a problem").is_visible()
    assert page.locator("#systolic-error").is_visible()  # beside the field
    check(page, "reading refused")
    page.get_by_label("Systolic blood pressure").fill("190")
    page.get_by_label("Diastolic blood pressure").fill("100")
    page.get_by_role("button", name="Send reading").click()
    page.wait_for_url(f"{base}/my/{alice.pk}/readings/")
    assert page.get_by_text("Your blood pressure reading has been sent").is_visible()
    check(page, "reading sent")

    for path, text in (("plan/", "Getting to chapel on Sundays."), ("medicines/", "One tablet twice a day")):
        page.goto(f"{base}/my/{alice.pk}/{path}")
        assert page.get_by_text(text).is_visible()
        check(page, path)

    run_worker(once=True, schedule=False)  # the alert evaluation the reading enqueued
    gp.set_password(PASSWORD)
    gp.save()
    staff = browser.new_page()
    sign_in(staff, base, gp.username)
    staff.goto(f"{base}/home-readings/")
    assert staff.get_by_text("Systolic blood pressure 190").first.is_visible()
    assert serious_accessibility_violations(staff) == []
    staff.get_by_label("Your reply to Alice Zephyrine").fill("Please rest; I will ring you this afternoon")
    staff.get_by_role("button", name="Mark as seen").click()
    staff.wait_for_load_state()
    assert staff.get_by_text("the person can read your reply").is_visible()

    page.goto(f"{base}/my/{alice.pk}/readings/")
    assert page.get_by_text("Please rest; I will ring you this afternoon").is_visible()
    assert page.get_by_text("Your team has looked at this").is_visible()
    check(page, "reply read")
