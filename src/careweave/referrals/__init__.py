"""Referral tracking (issue 15, ADR 0012): the record rows of the FHIR Tasks that carry a referral's
business state (`ReferralTask`), and the scan of the record for referral loops, people lost on
waiting lists, episodes closed without an outcome letter and lists due for validation (`scan`).

The findings themselves are specified, Django-free, in `careweave.population.referrals`; this app
builds their extract from the record and prints them. Imports `record`, `governance` and the
Django-free core; imported by `fhir` (the Task registry entry) and the CLI only.
"""
