"""The record's FHIR R4 interface: import (`imports/`: the unit, validation, identity, references,
authorisation of API writes, the writer and the record rows), the REST API (`http/`: transport, search,
reads and writes, bundles, audit events, the generated CapabilityStatement), the registry of resource
types (`resource_types`), FHIR conventions (`conventions`, Django-free), the NHS number (`nhs_number`,
Django-free) and the administrators' record operations (`operations`: $merge, $move).

An interface layer: imported by `cli`, `demo` and `config`; imports `governance`, `record`, `terminology`.
"""
