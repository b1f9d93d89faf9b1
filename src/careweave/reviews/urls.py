from django.urls import path

from careweave.reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.planner, name="planner"),
    path("settings/", views.save_settings, name="settings"),
    path("refresh/", views.refresh, name="refresh"),
    path("planned/<int:planned_pk>/book/", views.book, name="book"),
    path("bookings/<int:booking_pk>/", views.review, name="review"),
    path("people/<int:person_pk>/prompts/<slug:prompt_id>/", views.answer_prompt, name="prompt"),
]
