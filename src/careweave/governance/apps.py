from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "careweave.governance"
    label = "governance"
