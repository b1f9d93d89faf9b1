from django.urls import path

app_name = "huddles"
urlpatterns: list = []  # type: ignore[type-arg]
