"""The medicines review on the record's side (issue 13, ADR 0017): the review's inputs read from the
shared care record, the Django-free rules (``careweave.population.medicines``) run on them, and the
findings printed by ``careweave medicines review`` with NHS numbers. No models of its own."""
