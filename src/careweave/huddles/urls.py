from django.urls import path

from careweave.huddles import views

app_name = "huddles"
urlpatterns = [
    path("", views.huddle_list, name="list"),
    path("<int:huddle_pk>/", views.huddle_detail, name="detail"),
    path("<int:huddle_pk>/suggestions/", views.add_suggestion, name="add-suggestion"),
    path("<int:huddle_pk>/nominations/", views.nominate, name="nominate"),
    path("<int:huddle_pk>/agenda/<int:item_pk>/outcome/", views.record_outcome, name="outcome"),
]
