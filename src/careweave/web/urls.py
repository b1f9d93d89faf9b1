from django.urls import path

from careweave.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("people/", views.people, name="people"),
    path("people/<int:person_pk>/", views.person, name="person"),
    path("people/<int:person_pk>/break-glass/", views.break_glass, name="break-glass"),
    path("audit/", views.audit, name="audit"),
]
