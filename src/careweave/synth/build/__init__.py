"""Each person's FHIR R4 resources, one module per thing built (shapes as in docs/fhir-conventions.md).

`chunk.RecordBuilder` runs the steps for each person over a `context.PersonContext`: `patient`,
`conditions` (with `medicines`), `social`, `monitoring`, `contacts` and `referrals`. `codes` holds
the code systems and shared fragments, `batch` the serialised output. Only `synth.generator` imports
this package.
"""

from careweave.synth.build.batch import RESOURCE_TYPES, Batch
from careweave.synth.build.chunk import RecordBuilder

__all__ = ["RESOURCE_TYPES", "Batch", "RecordBuilder"]
