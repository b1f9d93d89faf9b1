"""CareWeave's care plans, goals and care teams at the record's FHIR base (/fhir), ahead of the
record's generic routes: ids CareWeave does not own fall through to the record's read. The same
routes are also served under /care/fhir, where they were first published."""

from django.urls import re_path

from careweave.care import api

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

urlpatterns = [
    re_path(r"^(?P<kind>CarePlan|Goal|CareTeam)$", api.search, name="fhir-care-search"),
    re_path(r"^CarePlan/(?P<logical_id>careplan-\d+)$", api.read_care_plan, name="fhir-care-plan"),
    re_path(
        r"^CarePlan/(?P<logical_id>careplan-\d+)/_history/(?P<version>\d+)$",
        api.read_care_plan,
        name="fhir-care-plan-version",
    ),
    re_path(rf"^Goal/(?P<logical_id>{UUID})$", api.read_goal, name="fhir-goal"),
    re_path(r"^CareTeam/(?P<logical_id>careteam-\d+)$", api.read_care_team, name="fhir-care-team"),
]
