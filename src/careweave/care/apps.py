from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "careweave.care"
    label = "care"
