"""Who may see and do what, and the record of who saw what.

Owns roles and the permission table (`permissions`), the one way in to a person's record
(`access.open_record`: relationship, break-glass; every allow and deny audited), and the append-only
audit (`audit`, the only writer of `AuditEntry`). The only package that checks a role
(tests/governance/test_boundaries.py). Imported by every interface and feature app; imports `record`.
"""
