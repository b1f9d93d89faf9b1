from django.urls import path, re_path

from careweave.fhir import api, operations
from careweave.fhir.http import bulk_import
from careweave.fhir.http.transport import unknown_url

ID = r"[A-Za-z0-9\-.]{1,64}"

urlpatterns = [
    path("metadata", api.metadata, name="fhir-metadata"),
    re_path(rf"^Patient/(?P<logical_id>{ID})/\$everything$", api.everything, name="fhir-everything"),
    # the administrator's explicit operations: the only way a resource changes whose record it is in
    re_path(r"^Patient/\$merge$", api.api_view(operations.merge), name="fhir-merge"),
    # Bulk Data import for integration clients, polled at its status URL
    re_path(r"^\$import$", bulk_import.kick_off, name="fhir-import"),
    re_path(r"^\$import-status/(?P<job_id>[0-9a-f-]{36})$", bulk_import.status, name="fhir-import-status"),
    re_path(
        rf"^(?P<kind>[A-Z][A-Za-z]+)/(?P<logical_id>{ID})/\$move$",
        api.api_view(operations.move),
        name="fhir-move",
    ),
    re_path(r"^(?P<kind>[A-Z][A-Za-z]+)$", api.type_endpoint, name="fhir-type"),
    re_path(rf"^(?P<kind>[A-Z][A-Za-z]+)/(?P<logical_id>{ID})$", api.instance_endpoint, name="fhir-instance"),
    re_path(
        rf"^(?P<kind>[A-Z][A-Za-z]+)/(?P<logical_id>{ID})/_history$",
        api.history_endpoint,
        name="fhir-history",
    ),
    re_path(
        rf"^(?P<kind>[A-Z][A-Za-z]+)/(?P<logical_id>{ID})/_history/(?P<version>\d{{1,9}})$",
        api.version_endpoint,
        name="fhir-version",
    ),
    # last: every other /fhir URL is an OperationOutcome 404, not an HTML page
    re_path(r"^(?P<rest>.*)$", unknown_url, name="fhir-unknown"),
]
