from django.apps import AppConfig


class MedicinesConfig(AppConfig):
    name = "careweave.medicines"
    label = "medicines"

    def ready(self) -> None:
        # DetectedIssue at /fhir: a provider in the resource registry, as care.api is for CarePlan
        from careweave.medicines import api  # noqa: F401
