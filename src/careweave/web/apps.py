from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "careweave.web"
    label = "web"
