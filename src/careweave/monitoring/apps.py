from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "careweave.monitoring"
    label = "monitoring"
