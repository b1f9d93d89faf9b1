from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "careweave.fhir"
    label = "fhir"
