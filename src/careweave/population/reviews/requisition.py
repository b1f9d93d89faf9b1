"""The blood set of a review as one FHIR R4 ServiceRequest: each laboratory test an ``orderDetail``,
every reason a ``reasonCode``, on the phlebotomy date; a proposal until a clinician orders it
(category and intent from ``review_planning.yaml``)."""

from __future__ import annotations

from typing import Any

from careweave.terminology.loading.reviews import ReviewPlanning

from .review import Review

#: CareWeave's code system for the laboratory tests of review_planning.yaml (``fhir.conventions``'
#: CW_CODE_SYSTEM namespace, which this Django-free layer may not import).
LABORATORY_TEST_SYSTEM = "https://fhir.careweave.org/CodeSystem/laboratory-test"


def requisition(review: Review, planning: ReviewPlanning, *, patient: str) -> dict[str, Any] | None:
    """The ServiceRequest for ``review``'s tests (None when no test is due); ``patient``: the
    reference of the person's Patient, e.g. ``Patient/abc``."""
    if not review.bloods or review.phlebotomy_date is None:
        return None
    system, code, display = planning.requisition_category
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": planning.requisition_intent,
        "category": [{"coding": [{"system": system, "code": code, "display": display}]}],
        "code": {"text": f"Tests before the review on {review.review_date.isoformat()}"},
        "orderDetail": [
            {
                "coding": [{"system": LABORATORY_TEST_SYSTEM, "code": test.test, "display": test.name}],
                "text": test.name,
            }
            for test in review.bloods
        ],
        "subject": {"reference": patient},
        "occurrenceDateTime": review.phlebotomy_date.isoformat(),
        "reasonCode": [
            {"text": f"{test.name}: {item} ({rule})"} for test in review.bloods for rule, item in test.reasons
        ],
    }
