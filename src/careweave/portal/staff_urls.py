from django.urls import path

from careweave.portal import staff_views

app_name = "online-access"

urlpatterns = [
    path("people/<int:person_pk>/", staff_views.online_access, name="person"),
    path("people/<int:person_pk>/questions/", staff_views.questions, name="questions"),
]
