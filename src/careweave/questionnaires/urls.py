from django.urls import path

from careweave.questionnaires import views

app_name = "questionnaires"

urlpatterns = [
    path("people/<int:person_pk>/", views.person_questionnaires, name="person"),
    path("people/<int:person_pk>/<str:logical_id>/", views.complete, name="complete"),
]
