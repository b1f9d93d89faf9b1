"""The CapabilityStatement, generated from the resource registry: every type served at /fhir, its
interactions and search parameters, the types other apps provide, and the operations."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse

from careweave.fhir import resource_types
from careweave.fhir.conventions import RESTFUL_SECURITY_SYSTEM
from careweave.fhir.http.transport import fhir_response, unacceptable


def _resource(entry: resource_types.ResourceType) -> dict[str, Any]:
    provider = entry.provider
    if provider is not None:  # served by another app (care plans, goals, care teams): read-only
        described: dict[str, Any] = {
            "type": entry.name,
            "interaction": [{"code": "read"}, {"code": "search-type"}]
            + ([{"code": "vread"}] if provider.versioned else []),
            "versioning": "versioned" if provider.versioned else "no-version",
            "searchParam": [{"name": p, "type": "reference"} for p in provider.search_params],
        }
        if provider.search_include:
            described["searchInclude"] = list(provider.search_include)
        return described
    interactions = [{"code": "read"}, {"code": "search-type"}]
    if not entry.read_only:
        interactions += [
            {"code": "create"},
            {"code": "update"},
            {"code": "vread"},
            {"code": "history-instance"},
        ]
    references = [name for name, p in entry.search.items() if p.type == "reference"]
    described = {
        "type": entry.name,
        "interaction": interactions,
        "versioning": "versioned" if not entry.read_only else "no-version",
        "searchParam": [{"name": name, "type": p.type} for name, p in entry.search.items()],
        "conditionalCreate": not entry.read_only,
    }
    if references and not entry.read_only:  # careweave.fhir.http.includes
        described["searchInclude"] = [f"{entry.name}:{name}" for name in references]
    if entry.name == "Patient":  # every type of the record refers to its person this way
        described["searchRevInclude"] = [
            f"{other.name}:{name}"
            for other in resource_types.REGISTRY.values()
            if other.provider is None and not other.read_only
            for name, p in other.search.items()
            if p.type == "reference" and not p.columns
        ]
    if entry.operations:
        described["operation"] = [{"name": name, "definition": url} for name, url in entry.operations]
    return described


def capability_statement(base: str) -> dict[str, Any]:
    served = [t for t in resource_types.REGISTRY.values() if t.search or t.provider is not None]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.today().isoformat(),
        "kind": "instance",
        "software": {"name": "CareWeave", "version": "0.1.0"},
        "implementation": {"description": "CareWeave shared care record", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [{"system": RESTFUL_SECURITY_SYSTEM, "code": "OAuth"}],
                            "text": "Bearer token",
                        }
                    ],
                    "description": "Bearer token per user or API client; every read of a person's data is audited.",
                },
                "resource": [_resource(t) for t in served],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                # Bulk Data import for integration clients (careweave.fhir.http.bulk_import)
                "operation": [
                    {
                        "name": "import",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import",
                    }
                ],
            }
        ],
    }


def metadata(request: HttpRequest) -> HttpResponse:
    refused = unacceptable(request)
    if refused is not None:
        return refused
    return fhir_response(capability_statement(request.build_absolute_uri("/fhir")))
