from django.urls import path

from careweave.huddles import views as huddle_views
from careweave.web import outcomes, referral_views, sharing, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("today/", views.today_page, name="today"),
    path("people/", views.people, name="people"),
    path("people/<int:person_pk>/", views.person, name="person"),
    path("people/<int:person_pk>/print/", views.person_print, name="person-print"),
    path("people/<int:person_pk>/break-glass/", views.break_glass, name="break-glass"),
    path("people/<int:person_pk>/worklists/", views.worklist_change, name="worklist-change"),
    path("people/<int:person_pk>/sharing/", sharing.sharing, name="sharing"),
    path("worklists/", views.worklist, name="worklists"),
    path("population/", views.population, name="population"),
    path("population/referrals/", referral_views.population, name="population-referrals"),
    path("population/outcomes/", outcomes.outcomes_page, name="population-outcomes"),
    path("population/outcomes.csv", outcomes.outcomes_csv, name="population-outcomes-csv"),
    path("referrals/", referral_views.worklist, name="referrals"),
    path("referrals/<int:referral_pk>/", referral_views.detail, name="referral"),
    path("referrals/<int:referral_pk>/chase/", referral_views.chase, name="referral-chase"),
    path("referrals/<int:referral_pk>/validate/", referral_views.validate, name="referral-validate"),
    path("referrals/<int:referral_pk>/re-refer/", referral_views.re_refer, name="referral-re-refer"),
    path("referrals/<int:referral_pk>/escalate/", referral_views.escalate, name="referral-escalate"),
    path("tasks/", huddle_views.my_tasks, name="tasks"),
    path("tasks/<int:task_pk>/done/", huddle_views.complete_task, name="task-done"),
    path("audit/", views.audit, name="audit"),
    path("audit/people/<int:person_pk>/report/", views.access_report, name="access-report"),
    path("audit/break-glass/<int:glass_pk>/", views.break_glass_review, name="break-glass-review"),
]
