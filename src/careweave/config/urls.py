from django.urls import include, path

from careweave.fhir import api

urlpatterns = [
    path("fhir", api.root, name="fhir-root"),
    path("fhir/", include("careweave.fhir.urls")),
    path("care/", include("careweave.care.urls")),
    path("huddles/", include("careweave.huddles.urls")),
    path("", include("careweave.web.urls")),
]
