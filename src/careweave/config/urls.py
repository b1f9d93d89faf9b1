from django.urls import include, path

urlpatterns = [
    path("fhir", include("careweave.fhir.urls")),
    path("", include("careweave.web.urls")),
]
