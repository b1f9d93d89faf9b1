"""The shared care record: every stored FHIR resource with its identity, and the typed projection a
clinician reads (people, conditions, medicines, observations, contacts, referrals, allergies, flags,
social circumstances), plus the materialised care relationships the access rules read (ADR 0005, 0006).

Imported by everything above it; imports only Django and `terminology`.
"""
