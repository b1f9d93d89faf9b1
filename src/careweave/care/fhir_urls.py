"""CareWeave's care plans, goals and care teams under /care/fhir, where they were first published.
At the record's FHIR base (/fhir) the same functions are a provider registered by `careweave.care.api`
in the resource registry, so /fhir needs no routes of ours and no URL order."""

from django.urls import re_path

from careweave.care import api

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

urlpatterns = [
    re_path(r"^(?P<kind>CarePlan|Goal|CareTeam)$", api.search_view, name="fhir-care-search"),
    re_path(r"^CarePlan/(?P<logical_id>careplan-\d{1,18})$", api.care_plan_view, name="fhir-care-plan"),
    re_path(
        r"^CarePlan/(?P<logical_id>careplan-\d{1,18})/_history/(?P<version>\d{1,9})$",
        api.care_plan_view,
        name="fhir-care-plan-version",
    ),
    re_path(rf"^Goal/(?P<logical_id>{UUID})$", api.goal_view, name="fhir-goal"),
    re_path(r"^CareTeam/(?P<logical_id>careteam-\d{1,18})$", api.care_team_view, name="fhir-care-team"),
]
