"""A blood-test or imaging requisition is a ServiceRequest too (a review's one blood draw, issue 14),
but nobody waits on it as a referral: the scan, the summary and the worklists leave it out, while the
FHIR API still serves it as a ServiceRequest."""

from __future__ import annotations

import datetime as dt

import pytest

from careweave.fhir.importer import Importer
from careweave.record import models as rm
from careweave.referrals.scan import referral_findings
from tests.referrals import journeys

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2025, 6, 30)
LAB = "108252007"


def load(category: str | None) -> None:
    history = journeys.base("9434765803", "pa")
    history.referral("sr-old", "pa", "gp", "hosp", AS_OF - dt.timedelta(weeks=30))
    if category is not None:
        history.resources[-1]["category"] = [
            {"coding": [{"system": "http://snomed.info/sct", "code": category}]}
        ]
    Importer(source_system="urn:test:senders").import_bundle(history.bundle(), "requests.json")


def test_an_old_referral_with_no_reply_is_a_finding() -> None:
    load(None)  # the control: the same request, as a referral
    assert rm.Referral.objects.get(resource__logical_id="sr-old").is_referral
    found = referral_findings(as_of=AS_OF)
    assert any("sr-old" in f["referrals"] for f in found)


@pytest.mark.parametrize("category", [LAB, "363679005"])
def test_a_test_request_of_the_same_age_is_not(category: str) -> None:
    load(category)
    assert not rm.Referral.objects.get(resource__logical_id="sr-old").is_referral
    assert referral_findings(as_of=AS_OF) == []
