"""FHIR R4 import, one job per module, in the order a unit goes through them:

- `unit`: the entries of a unit, the import context (file, source, strictness) that labels every
  issue, the API caller's write policy, and the summary;
- `validation`: structure (fhir.resources R4B), required bindings and NHS numbers;
- `identity`: which stored resource each entry is (source identity, PUT target, business identifier)
  and the logical id it gets;
- `references`: resolving references in the unit and to the record;
- `authorise`: an API write decided on every person it touches (issue 8);
- `writer`: the stored resources, versions, identifiers and aliases;
- `records`: the record's typed rows, one projector per resource type (see `fhir.resource_types`);
- `pipeline`: the `Importer` that runs a unit through them in one transaction.

Callers import from `careweave.fhir.importer`.
"""
