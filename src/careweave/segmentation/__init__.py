"""Stored segmentation runs: the population analytics (`careweave.population`, Django-free) run over the
record, their versioned results, worklists and clinicians' overrides of them.

`population` computes; `segmentation` stores and serves. Imported by `huddles`, `web` and `cli`; imports
`governance`, `record`, `population`, `terminology`.
"""
