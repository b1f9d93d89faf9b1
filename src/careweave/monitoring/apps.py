from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "careweave.monitoring"
    label = "monitoring"

    def ready(self) -> None:
        from careweave.care.fhir_exchange import GOAL_TARGETS
        from careweave.monitoring.targets import goal_targets

        if goal_targets not in GOAL_TARGETS:  # a person's home-reading thresholds in /fhir/Goal
            GOAL_TARGETS.append(goal_targets)
