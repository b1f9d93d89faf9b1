from django.urls import include, path

from careweave.care import views

app_name = "care"

urlpatterns = [
    path("people/<int:person_pk>/plan/", views.plan, name="plan"),
    path("people/<int:person_pk>/plan/edit/", views.plan_edit, name="plan-edit"),
    path("people/<int:person_pk>/plan/print/", views.plan_print, name="plan-print"),
    path("people/<int:person_pk>/plan.pdf", views.plan_pdf, name="plan-pdf"),
    path("people/<int:person_pk>/plan/actions/<int:position>/done/", views.action_done, name="action-done"),
    path("people/<int:person_pk>/team/", views.team, name="team"),
    path("people/<int:person_pk>/team/add/", views.team_add, name="team-add"),
    path(
        "people/<int:person_pk>/team/<int:member_pk>/coordinator/",
        views.team_coordinator,
        name="team-coordinator",
    ),
    path("people/<int:person_pk>/team/<int:member_pk>/remove/", views.team_remove, name="team-remove"),
    path("people/<int:person_pk>/handover/", views.handover_add, name="handover-add"),
    # Read-only FHIR R4 exchange of plans and teams, first served here; the same routes as at /fhir.
    path("fhir/", include("careweave.care.fhir_urls")),
]
