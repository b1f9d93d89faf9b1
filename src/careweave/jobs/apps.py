from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "careweave.jobs"
    label = "jobs"
