"""The FHIR R4 REST interface under /fhir, one job per module:

- `transport`: bearer tokens, FHIR JSON responses, OperationOutcome for every failure (refusals
  from governance translated here, once), paging, and opening a person's record for a request;
- `search`: search parameters compiled from the resource registry, and scoping to the caller's care;
- `resources`: read, create and update, Patient/$everything, and the types other apps provide;
- `bundles`: transaction and batch;
- `audit_events`: CareWeave's audit as read-only AuditEvent resources;
- `capability`: the CapabilityStatement, generated from the registry.
"""
