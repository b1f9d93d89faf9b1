"""FHIR R4 REST API under /fhir, for URL modules and callers: the interface lives in `careweave.fhir.http`."""

from careweave.fhir.http.audit_events import audit_event
from careweave.fhir.http.bundles import root
from careweave.fhir.http.capability import capability_statement, metadata
from careweave.fhir.http.resources import (
    everything,
    history_endpoint,
    instance,
    instance_endpoint,
    record_instance,
    type_endpoint,
    version_endpoint,
)
from careweave.fhir.http.search import SEARCH_PARAMS, SEARCHABLE, search_queryset
from careweave.fhir.http.transport import CONTROL_PARAMS as CONTROL_PARAMS
from careweave.fhir.http.transport import api_view as api_view
from careweave.fhir.http.transport import fhir_response as fhir_response
from careweave.fhir.http.transport import not_known as not_known
from careweave.fhir.http.transport import open_for as open_for
from careweave.fhir.http.transport import outcome as outcome
from careweave.fhir.http.transport import purpose as purpose

__all__ = [
    "CONTROL_PARAMS",
    "SEARCHABLE",
    "SEARCH_PARAMS",
    "api_view",
    "audit_event",
    "capability_statement",
    "everything",
    "fhir_response",
    "history_endpoint",
    "instance",
    "instance_endpoint",
    "metadata",
    "not_known",
    "open_for",
    "outcome",
    "purpose",
    "record_instance",
    "root",
    "search_queryset",
    "type_endpoint",
    "version_endpoint",
]
