"""FHIR R4 import, for callers (cli, demo, bench, tests): the pipeline lives in `careweave.fhir.imports`."""

from careweave.fhir.imports.identity import match_by_identifier, search_by_params
from careweave.fhir.imports.pipeline import Importer, refresh_planner_statistics
from careweave.fhir.imports.unit import (
    FHIR_ID,
    OUTCOMES,
    ApiWriter,
    Entry,
    ImportContext,
    ImportSummary,
    Verdict,
    canonical_hash,
)
from careweave.fhir.imports.validation import validate_entry
from careweave.fhir.imports.workspace import WORKSPACE_SOURCE_PREFIX, staff_writer, workspace_importer

__all__ = [
    "FHIR_ID",
    "OUTCOMES",
    "ApiWriter",
    "Entry",
    "ImportContext",
    "ImportSummary",
    "Importer",
    "Verdict",
    "canonical_hash",
    "match_by_identifier",
    "refresh_planner_statistics",
    "search_by_params",
    "validate_entry",
    "WORKSPACE_SOURCE_PREFIX",
    "staff_writer",
    "workspace_importer",
]
