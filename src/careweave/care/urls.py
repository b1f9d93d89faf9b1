from django.urls import include, path

from careweave.care import views

app_name = "care"

# One person's care team: staff members, everyone without an account, and how to reach each.
team_patterns = [
    path("", views.team, name="team"),
    path("add/", views.team_add, name="team-add"),
    path("<int:member_pk>/coordinator/", views.team_coordinator, name="team-coordinator"),
    path("<int:member_pk>/remove/", views.team_remove, name="team-remove"),
    path("<int:member_pk>/contact/", views.team_member_contact, name="team-member-contact"),
    path("contacts/add/", views.team_contact_add, name="team-contact-add"),
    path("contacts/<int:contact_pk>/remove/", views.team_contact_remove, name="team-contact-remove"),
]

urlpatterns = [
    path("people/<int:person_pk>/plan/", views.plan, name="plan"),
    path("people/<int:person_pk>/plan/edit/", views.plan_edit, name="plan-edit"),
    path("people/<int:person_pk>/plan/print/", views.plan_print, name="plan-print"),
    path("people/<int:person_pk>/plan.pdf", views.plan_pdf, name="plan-pdf"),
    path("people/<int:person_pk>/plan/actions/<int:position>/done/", views.action_done, name="action-done"),
    path("people/<int:person_pk>/team/", include(team_patterns)),
    path("people/<int:person_pk>/handover/", views.handover_add, name="handover-add"),
    # Read-only FHIR R4 exchange of plans and teams, first served here; the same routes as at /fhir.
    path("fhir/", include("careweave.care.fhir_urls")),
]
