from django.apps import AppConfig


class RecordConfig(AppConfig):
    name = "careweave.record"
    label = "record"
