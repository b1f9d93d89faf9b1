"""The referrals worklist and its actions through the web: who is listed and in what order, each
action as a form POST (CSRF, a redirect and a message), bad input answered with the form again
(never a 500), and a person outside the user's care refused and audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from careweave.governance.models import AuditEntry
from careweave.huddles.models import AgendaItem
from careweave.huddles.services import schedule_huddle
from careweave.record import models as rm
from careweave.referrals.models import ReferralTask
from tests.referrals.world import World, build
from tests.web.conftest import segment, segmentation_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build()


@pytest.fixture
def client(world: World) -> Client:
    client = Client()
    client.force_login(world.coordinator)
    return client


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/people/\d+/">([^<]+)</a>', html)


def test_the_worklist_lists_the_people_in_care_with_findings_most_harmed_first(
    world: World, client: Client
) -> None:
    response = client.get("/referrals/")
    assert response.status_code == 200
    html = response.content.decode()
    lost, waiting = world.lost.person.display_name, world.waiting.person.display_name
    assert _names(html) == [lost, waiting]  # 30 weeks, 12 beyond the standard, before 14 weeks
    assert world.elsewhere.person.display_name not in html  # another practice's patient
    assert "Referred to Orthopaedics, General Hospital on" in html
    assert "accepted by the service, but no first appointment after 30 weeks" in html
    assert "Chase the receiving service for a first appointment" in html
    assert (
        "+12: lost on a waiting list, 12 weeks beyond the 18-week standard" not in html
    )  # points include the finding's
    assert "+22: lost on a waiting list, 12 weeks beyond the 18-week standard" in html
    shown = set(
        AuditEntry.objects.filter(action="worklist-read", actor=world.coordinator).values_list(
            "person_id", flat=True
        )
    )
    assert shown == {world.lost.person_id, world.waiting.person_id}


def test_frailty_and_unplanned_care_move_a_person_up(world: World, client: Client) -> None:
    run = segmentation_run()
    segment(run, world.waiting.person, efi_category="severe", unplanned_contacts_12m=3)
    segment(run, world.lost.person, efi_category="fit")
    html = client.get("/referrals/").content.decode()
    assert _names(html) == [world.waiting.person.display_name, world.lost.person.display_name]
    assert "+15: severe frailty (eFI)" in html and "+15: unplanned care 3 times in the last 12 months" in html


def test_chase_is_a_post_with_csrf_that_redirects_with_a_message(world: World) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.coordinator)
    assert strict.post(f"/referrals/{world.lost.pk}/chase/").status_code == 403  # no CSRF token
    assert not ReferralTask.objects.filter(code="referral-chase").exists()
    page = strict.get("/referrals/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = strict.post(
        f"/referrals/{world.lost.pk}/chase/", {"csrfmiddlewaretoken": token.group(1)}, follow=True
    )
    assert response.redirect_chain == [("/referrals/", 302)]
    assert "Chase sent to Orthopaedics, General Hospital" in response.content.decode()
    assert ReferralTask.objects.filter(code="referral-chase", focus_id="sr-lost").count() == 1
    assert strict.get(f"/referrals/{world.lost.pk}/chase/").status_code == 405


def test_validate_shows_the_form_refuses_bad_input_and_records_a_good_answer(
    world: World, client: Client
) -> None:
    url = f"/referrals/{world.waiting.pk}/validate/"
    form = client.get(url)
    assert form.status_code == 200 and "Do they still need this referral?" in form.content.decode()
    for bad in (
        {},
        {"contact": "pigeon", "answer": "still-needed"},
        {"contact": "telephone", "answer": "x" * 5000},
        {"contact": "telephone", "answer": "still-needed", "note": "x" * 5000},
    ):
        response = client.post(url, bad)
        assert response.status_code == 400, bad
        assert "There is a problem" in response.content.decode()
    assert not ReferralTask.objects.filter(is_validation=True).exists()
    done = client.post(url, {"contact": "telephone", "answer": "still-needed"}, follow=True)
    assert "Check recorded" in done.content.decode()
    assert world.waiting.person.display_name not in _names(
        done.content.decode()
    )  # nothing left to do for them


@pytest.mark.parametrize("to", ["", "abc", "99999999", "-1", "1e3"])
def test_re_refer_refuses_a_missing_or_unknown_service_without_a_500(
    world: World, client: Client, to: str
) -> None:
    response = client.post(f"/referrals/{world.lost.pk}/re-refer/", {"to": to})
    assert response.status_code == 400
    assert "Choose the service to refer the person to" in response.content.decode()


def test_re_refer_elsewhere_then_the_timeline_shows_it(world: World, client: Client) -> None:
    response = client.post(
        f"/referrals/{world.lost.pk}/re-refer/", {"to": str(world.community.pk)}, follow=True
    )
    assert "referred to Community Physiotherapy instead" in response.content.decode()
    new = rm.Referral.objects.get(replaces=world.lost)
    timeline = client.get(f"/referrals/{world.lost.pk}/").content.decode()
    assert timeline.index("Referred to Orthopaedics") < timeline.index("Accepted by the service")
    assert timeline.index("Accepted by the service") < timeline.index(
        "Re-referred to Community Physiotherapy"
    )
    newer = client.get(f"/referrals/{new.pk}/").content.decode()
    assert (
        "Replaces the referral to Orthopaedics, General Hospital" in newer
        and "Sent, not yet acknowledged" in newer
    )


def test_escalate_puts_the_person_on_the_next_huddles_agenda(world: World, client: Client) -> None:
    url = f"/referrals/{world.lost.pk}/escalate/"
    none_yet = client.post(url, follow=True).content.decode()
    assert "You are not a member of any MDT huddle still to come" in none_yet
    huddle = schedule_huddle(
        user=world.coordinator, team_name="Riverside MDT", scheduled_for=timezone.now() + dt.timedelta(days=3)
    )
    done = client.post(url, {"reason": "Lost on a waiting list"}, follow=True).content.decode()
    assert "added to the agenda of Riverside MDT" in done
    item = AgendaItem.objects.get(huddle=huddle)
    assert (item.person, item.reason) == (world.lost.person, "Lost on a waiting list")
    again = client.post(url, follow=True).content.decode()
    assert "already on the agenda" in again and AgendaItem.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "chase/", {}),
        ("post", "validate/", {"contact": "telephone", "answer": "still-needed"}),
        ("get", "validate/", {}),
        ("post", "re-refer/", {"to": "1"}),
        ("post", "escalate/", {}),
        ("get", "", {}),
    ],
)
def test_a_referral_outside_the_users_care_is_refused_and_audited(
    world: World, client: Client, method: str, path: str, data: dict[str, str]
) -> None:
    before = ReferralTask.objects.count()
    response = getattr(client, method)(f"/referrals/{world.elsewhere.pk}/{path}", data)
    assert response.status_code in (403, 404)
    assert world.elsewhere.person.display_name not in response.content.decode()
    assert ReferralTask.objects.count() == before
    assert AuditEntry.objects.filter(person_id=world.elsewhere.person_id, outcome="denied").exists()


def test_an_unknown_referral_is_not_found(client: Client) -> None:
    assert client.get("/referrals/987654/").status_code == 404
    assert client.post("/referrals/987654/chase/").status_code == 404


def test_an_analyst_cannot_open_the_worklist(world: World) -> None:
    from tests.factories import StaffFactory

    analyst = Client()
    analyst.force_login(StaffFactory(username="analyst", role="analyst", organisation=None))
    assert analyst.get("/referrals/").status_code == 403


def test_the_summary_shows_every_referral_with_its_state_and_weeks_waited(
    world: World, client: Client
) -> None:
    services_done = client.post(f"/referrals/{world.lost.pk}/re-refer/", {"to": str(world.community.pk)})
    assert services_done.status_code == 302
    page = client.get(f"/people/{world.lost.person_id}/").content.decode()
    section = page[page.index('<h2 id="referrals"') :]
    section = section[: section.index("</section>")]
    new = rm.Referral.objects.get(replaces=world.lost)
    # newest first: the new referral, sent today; the old one cancelled when it was replaced, after 30 weeks
    assert section.index(f'href="/referrals/{new.pk}/"') < section.index(
        f'href="/referrals/{world.lost.pk}/"'
    )
    assert (
        "Community Physiotherapy" in section
        and "sent, not yet acknowledged" in section
        and "0 weeks" in section
    )
    assert "replaced by a referral to Community Physiotherapy" in section and "30 weeks" in section
    assert "accepted by the service" not in section


def test_the_worklist_follows_the_record_between_requests(world: World, client: Client) -> None:
    lost = world.lost.person.display_name
    assert lost in _names(client.get("/referrals/").content.decode())
    assert (
        client.post(f"/referrals/{world.lost.pk}/re-refer/", {"to": str(world.community.pk)}).status_code
        == 302
    )
    assert lost not in _names(client.get("/referrals/").content.decode())
    # a person whose care the user loses is gone at once (break-glass ended, a relationship removed)
    assert world.waiting.person.display_name in _names(client.get("/referrals/").content.decode())
    rm.CareRelationship.objects.filter(person=world.waiting.person).delete()
    assert world.waiting.person.display_name not in _names(client.get("/referrals/").content.decode())


def test_after_no_longer_needed_the_row_says_so_and_the_timeline_shows_the_check(
    world: World, client: Client
) -> None:
    client.post(
        f"/referrals/{world.lost.pk}/validate/", {"contact": "telephone", "answer": "no-longer-needed"}
    )
    html = client.get("/referrals/").content.decode()
    assert (
        "the person said they no longer need it, and the service was asked to take them off its list" in html
    )
    assert "Chase the service if it has not closed the referral." in html
    timeline = client.get(f"/referrals/{world.lost.pk}/").content.decode()
    assert "Checked with the person: no longer needed" in timeline and "Chased Orthopaedics" in timeline


def test_the_today_page_shows_the_referrals_needing_action(world: World, client: Client) -> None:
    html = client.get("/today/").content.decode()
    section = html[html.index('id="referrals-action"'):]
    section = section[: section.index("</section>")]
    assert _names(section) == [world.lost.person.display_name, world.waiting.person.display_name]
    assert "Lost on a waiting list" in section and 'href="/referrals/"' in section
    assert world.elsewhere.person.display_name not in html
    shown = set(AuditEntry.objects.filter(action="today-read").values_list("person_id", flat=True))
    assert {world.lost.person.pk, world.waiting.person.pk} <= shown
