from django.apps import AppConfig


class HuddlesConfig(AppConfig):
    name = "careweave.huddles"
    label = "huddles"
