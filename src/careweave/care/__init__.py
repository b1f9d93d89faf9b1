"""Personalised care and support plans, care teams with a named co-ordinator, and handover notes.

Owns the care models, their services (every write opens the record through governance once) and pages,
and the FHIR provider for CarePlan, Goal and CareTeam (`care.api`, registered with the FHIR registry).
Imported by `huddles` (care-plan actions as tasks) and `web`; imports `ui`, `governance`, `record`.
"""
