from django.urls import path

from careweave.monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.alert_list, name="alerts"),
    path("<int:alert_pk>/act/", views.act, name="act"),
]
