"""Synthetic population generator: an English practice population as FHIR R4 NDJSON.

Django-free. `generate()` writes one NDJSON file per resource type; see docs/fhir-conventions.md.
"""

from careweave.synth.generator import DEFAULT_REFERENCE_DATE, SynthSummary, generate

__all__ = ["DEFAULT_REFERENCE_DATE", "SynthSummary", "generate"]
