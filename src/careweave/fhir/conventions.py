"""How CareWeave carries its record in FHIR R4: every extension URL, identifier system and code
system, in one place for the writer and the reader alike (docs/fhir-conventions.md is the table).

Django-free: the synthetic population generator and the exporter may import it too.
"""

from __future__ import annotations

from typing import Any

from careweave.fhir.nhs_number import NHS_NUMBER_SYSTEM

__all__ = [
    "ACCESSIBLE_INFORMATION_NEED_SYSTEM",
    "TEST_REQUEST_CATEGORIES",
    "is_test_request",
    "ACCESSIBLE_INFORMATION_NEED_URL",
    "API_SOURCE_PREFIX",
    "AUDIT_ENTITY_TYPE_SYSTEM",
    "AUDIT_EVENT_TYPE_SYSTEM",
    "CW_CODE_SYSTEM",
    "CW_EXTENSION",
    "DEFAULT_SOURCE",
    "DIGITAL_ACCESS_URL",
    "IMD_DECILE_URL",
    "INTERPRETER_URL",
    "LSOA_URL",
    "NATIONAL_DATA_OPT_OUT_URL",
    "NHS_NUMBER_SYSTEM",
    "ODS_SYSTEM",
    "RESTFUL_INTERACTION_SYSTEM",
    "RESTFUL_SECURITY_SYSTEM",
    "SECTOR_SYSTEM",
    "UK_ETHNICITY_SYSTEM",
    "UK_ETHNICITY_URL",
    "US_ETHNICITY_URLS",
    "V3_ACT_REASON_SYSTEM",
]

# CareWeave's own namespaces
CW_EXTENSION = "https://fhir.careweave.org/StructureDefinition/"
CW_CODE_SYSTEM = "https://fhir.careweave.org/CodeSystem/"

# Patient extensions (CareWeave's where UK Core and HL7 core have none)
LSOA_URL = CW_EXTENSION + "lsoa"
IMD_DECILE_URL = CW_EXTENSION + "imd-decile"
ACCESSIBLE_INFORMATION_NEED_URL = CW_EXTENSION + "accessible-information-need"
DIGITAL_ACCESS_URL = CW_EXTENSION + "digital-access"
NATIONAL_DATA_OPT_OUT_URL = CW_EXTENSION + "national-data-opt-out"
UK_ETHNICITY_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
INTERPRETER_URL = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
# read from US data (Synthea), never written
US_ETHNICITY_URLS = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
)

# Code systems
SECTOR_SYSTEM = CW_CODE_SYSTEM + "organisation-sector"
ACCESSIBLE_INFORMATION_NEED_SYSTEM = CW_CODE_SYSTEM + "accessible-information-need"
UK_ETHNICITY_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"

# Identifier systems (NHS_NUMBER_SYSTEM lives with the NHS number check, re-exported here)
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"

# Source systems (meta.source): who sent a resource, the identity space of its ids
DEFAULT_SOURCE = "urn:careweave:source:unspecified"
API_SOURCE_PREFIX = "urn:careweave:api:"  # + the API caller's username

# HL7 code systems the API writes (CapabilityStatement, AuditEvent)
RESTFUL_SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service"
AUDIT_EVENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-event-type"
AUDIT_ENTITY_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
RESTFUL_INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction"
V3_ACT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"


# ServiceRequest categories that are requests for a test, not referrals to a service: SNOMED CT
# 108252007 |Laboratory procedure| and 363679005 |Imaging|, the categories FHIR R4's
# servicerequest-category value set and UK Core ServiceRequest give for them
# (https://hl7.org/fhir/R4/valueset-servicerequest-category.html).
TEST_REQUEST_CATEGORIES = frozenset({"108252007", "363679005"})


def is_test_request(resource: dict[str, Any]) -> bool:
    return any(
        c.get("code") in TEST_REQUEST_CATEGORIES
        for concept in resource.get("category") or []
        for c in (concept.get("coding") or [])
    )
