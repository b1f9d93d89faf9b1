from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "careweave.contact"
    label = "contact"
