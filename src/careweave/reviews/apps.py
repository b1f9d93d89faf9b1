from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "careweave.reviews"
    label = "reviews"
