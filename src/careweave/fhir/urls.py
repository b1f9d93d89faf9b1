from django.urls import path, re_path

from careweave.fhir import api

urlpatterns = [
    path("metadata", api.metadata, name="fhir-metadata"),
    re_path(
        r"^Patient/(?P<logical_id>[A-Za-z0-9\-.]{1,64})/\$everything$", api.everything, name="fhir-everything"
    ),
    re_path(r"^(?P<kind>[A-Z][A-Za-z]+)$", api.type_endpoint, name="fhir-type"),
    re_path(
        r"^(?P<kind>[A-Z][A-Za-z]+)/(?P<logical_id>[A-Za-z0-9\-.]{1,64})$",
        api.instance_endpoint,
        name="fhir-instance",
    ),
]
