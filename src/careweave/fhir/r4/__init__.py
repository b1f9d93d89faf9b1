"""FHIR R4 (4.0.1) conformance: element definitions generated from the published StructureDefinitions
(`definitions.json`, written by `python -m careweave.fhir.r4.generate`) and the validator that applies
them with the core invariants. Django-free."""
