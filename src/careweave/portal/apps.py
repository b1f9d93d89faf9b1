from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "careweave.portal"
    label = "portal"
    verbose_name = "The person's own view and proxy access"
