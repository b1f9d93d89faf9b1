"""CareWeave: joined-up care for people living with multiple long-term conditions.

Layers, highest first (import-linter contracts in pyproject.toml; ADR 0010): the interfaces (`cli`,
`demo`, `config`, `web`, `fhir`), the feature apps (`huddles`, then `care` and `segmentation`), the UI
kernel (`ui`), `governance`, `record`, and the Django-free core (`population`, `synth`, `terminology`).
A module may import from its own layer's package or any lower layer, never a higher one.
"""
