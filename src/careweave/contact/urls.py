from django.urls import path

from careweave.contact import views

app_name = "contact"
urlpatterns = [
    path("notify/callback", views.notify_callback, name="notify-callback"),
    path("people/<int:person_pk>/", views.person_contact, name="person"),
]
