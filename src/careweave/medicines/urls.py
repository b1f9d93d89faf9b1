from django.urls import path

from careweave.medicines import views

app_name = "medicines"

urlpatterns = [
    path("people/<int:person_pk>/review/", views.review, name="review"),
    path("people/<int:person_pk>/review/findings/<str:key>/", views.decide, name="decide"),
    path("people/<int:person_pk>/review/complete/", views.complete, name="complete"),
    path("people/<int:person_pk>/summary-findings/", views.summary_findings, name="summary-findings"),
]
