from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    name = "careweave.questionnaires"
    label = "questionnaires"

    def ready(self) -> None:
        # registers the /fhir providers of Questionnaire and QuestionnaireResponse
        from careweave.questionnaires import api  # noqa: F401
