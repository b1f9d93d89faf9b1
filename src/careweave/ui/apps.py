from django.apps import AppConfig


class UiConfig(AppConfig):
    """An app so that its templates (ui/jinja2/) are found like every other app's."""

    name = "careweave.ui"
    label = "ui"
