from django.urls import path

from careweave.portal import self_care_views, signin_views, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", signin_views.sign_in, name="sign-in"),
    path("sign-in/code/", signin_views.sign_in_code, name="sign-in-code"),
    path("sign-in/outbox/", signin_views.outbox, name="outbox"),
    path("sign-in/oidc/", signin_views.oidc_start, name="oidc-start"),
    path("sign-in/oidc/callback/", signin_views.oidc_callback, name="oidc-callback"),
    path("activate/", signin_views.activate, name="activate"),
    path("sign-out/", signin_views.sign_out, name="sign-out"),
    path("<int:person_pk>/", views.overview, name="overview"),
    path("<int:person_pk>/plan/", views.plan, name="plan"),
    path("<int:person_pk>/what-matters/", views.what_matters, name="what-matters"),
    path("<int:person_pk>/team/", views.team, name="team"),
    path("<int:person_pk>/medicines/", views.medicines, name="medicines"),
    path("<int:person_pk>/appointments/", views.appointments, name="appointments"),
    path("<int:person_pk>/referrals/", views.referrals, name="referrals"),
    path("<int:person_pk>/readings/", self_care_views.home_readings, name="readings"),
    path("<int:person_pk>/readings/add/<slug:measurement>/", self_care_views.add_reading, name="add-reading"),
    path("<int:person_pk>/questionnaires/", self_care_views.questionnaire_list, name="questionnaires"),
    path(
        "<int:person_pk>/questionnaires/<slug:logical_id>/",
        self_care_views.answer_questionnaire,
        name="answer-questionnaire",
    ),
    path("<int:person_pk>/access/", views.access_report, name="access"),
    path("<int:person_pk>/ask/", views.ask, name="ask"),
    path("<int:person_pk>/carer/", views.carer_needs, name="carer"),
]

# The pages under /my/ that show or change one person's record: every one is tested with another
# person's id (tests/portal/test_isolation.py).
PERSON_PAGES = [p.name for p in urlpatterns if "<int:person_pk>" in str(p.pattern)]
# The further arguments of those pages, for the tests that walk them.
PAGE_EXAMPLES: dict[str, dict[str, str]] = {
    "add-reading": {"measurement": "weight"},
    "answer-questionnaire": {"logical_id": "coordination-prem"},
}
