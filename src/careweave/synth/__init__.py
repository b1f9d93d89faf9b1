"""Synthetic population generator: an English practice population as FHIR R4 NDJSON.

Owns everything about making synthetic people: the reviewed, cited parameters
(`data/population.yaml`, checked by the terminology schema code), the organisations of a health and
care economy, sampling people and their conditions (`cohort`), and each person's resources
(`build/`, one module per thing built). The same seed always gives byte-identical files.

Django-free core: it imports only `careweave.terminology` (for the schema of reviewed data) and
third-party libraries, never Django or the apps. Anything may import it; outside the package (tests aside) use
`generate()` and `DEFAULT_REFERENCE_DATE` from here (the CLI, the demo, tests and benches do).
See docs/fhir-conventions.md for the shapes written.
"""

from careweave.synth.generator import DEFAULT_REFERENCE_DATE, SynthSummary, generate

__all__ = ["DEFAULT_REFERENCE_DATE", "SynthSummary", "generate"]
