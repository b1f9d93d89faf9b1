"""The consolidated review planner (issue 14, ADR 0013), Django-free: one review per person from the
condition and drug monitoring items, with one blood set, the slot, the clinician type and the usual
clinician.

- ``plan``: the merge over the engines' ``monitoring_due`` and ``features`` output, as Arrow tables
  (``plan_reviews`` on an extract, ``plan_from_tables`` on the outputs);
- ``review``: a person's review as plain values and the printed JSON object;
- ``requisition``: the blood set as one FHIR ServiceRequest;
- ``dates``: the calendar arithmetic on columns of dates.

The knowledge (horizon, tolerance window, tests, clinician types, slot rules, phlebotomy lead time,
usual clinician look-back) is the reviewed ``terminology/data/review_planning.yaml``.
Who may import it: ``careweave.reviews`` (the record's side), the CLI, tests and ``bench/``.
"""

from .plan import ReviewPlan, plan_from_tables, plan_reviews, reasonable_adjustments, usual_clinicians
from .requisition import requisition
from .review import BloodTest, PlannedItem, Review, reviews_from_plan

__all__ = [
    "BloodTest",
    "PlannedItem",
    "Review",
    "ReviewPlan",
    "plan_from_tables",
    "plan_reviews",
    "reasonable_adjustments",
    "requisition",
    "reviews_from_plan",
    "usual_clinicians",
]
