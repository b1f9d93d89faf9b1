"""Chunked, streaming generation: bounded memory and deterministic output for (seed, people)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from careweave.synth.build import RESOURCE_TYPES, RecordBuilder
from careweave.synth.cohort import sample_cohort
from careweave.synth.nhs_numbers import nhs_numbers
from careweave.synth.organisations import build_economy
from careweave.synth.parameters import load_parameters

DEFAULT_REFERENCE_DATE = date(2026, 10, 1)
# Fixed so that the random streams, and hence the output, do not depend on any tuning knob.
CHUNK_PEOPLE = 10_000


@dataclass(frozen=True)
class SynthSummary:
    people: int
    seed: int
    resources: dict[str, int]
    files: list[Path]
    seconds: float
    reference_date: date = DEFAULT_REFERENCE_DATE
    practices: int = 0
    organisations: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def total_resources(self) -> int:
        return sum(self.resources.values())


def generate(
    people: int,
    seed: int,
    out_dir: Path,
    *,
    practices: int | None = None,
    reference_date: date = DEFAULT_REFERENCE_DATE,
    progress: Callable[[int], None] | None = None,
    parameters: Path | None = None,
) -> SynthSummary:
    """Write a synthetic population of `people` people as FHIR R4 NDJSON files in `out_dir`.

    The same (people, seed, practices, reference_date) always gives byte-identical files.
    `progress` is called with the number of people written so far after each chunk. `parameters`
    is another copy of the reviewed data file (tests use one with other rates).
    """
    if people < 1:
        raise ValueError("people must be at least 1")
    if seed < 0:
        raise ValueError("seed must be zero or positive")
    began = time.perf_counter()
    params = load_parameters(parameters)
    source = f"urn:careweave:synth:{seed}"
    economy = build_economy(
        seed=seed, people=people, practices=practices, source=source, rng=random.Random(seed)
    )
    builder = RecordBuilder(params=params, economy=economy, seed=seed, reference_date=reference_date)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    paths = [out_dir / f"{t}.ndjson" for t in RESOURCE_TYPES]
    with ExitStack() as stack:
        files: dict[str, BinaryIO] = {
            t: stack.enter_context(open(p, "wb", buffering=1 << 20))
            for t, p in zip(RESOURCE_TYPES, paths, strict=True)
        }

        def write(resource_type: str, lines: list[bytes]) -> None:
            if lines:
                files[resource_type].write(b"\n".join(lines))
                files[resource_type].write(b"\n")
                counts[resource_type] += len(lines)

        write("Organization", [orjson.dumps(o) for o in economy.organizations])
        write("Practitioner", [orjson.dumps(p) for p in economy.practitioners])
        write("PractitionerRole", [orjson.dumps(r) for r in economy.practitioner_roles])
        for chunk, first in enumerate(range(0, people, CHUNK_PEOPLE)):
            n = min(CHUNK_PEOPLE, people - first)
            rng = np.random.default_rng([seed, chunk])
            cohort = sample_cohort(params, economy, rng, first, n)
            batch = builder.build(cohort, nhs_numbers(first, n), rng, sinks=files)
            for resource_type, count in batch.counts.items():
                counts[resource_type] += count
            if progress is not None:
                progress(first + n)
    return SynthSummary(
        people=people,
        seed=seed,
        resources=counts,
        files=paths,
        seconds=time.perf_counter() - began,
        reference_date=reference_date,
        practices=len(economy.practices),
        organisations=len(economy.organizations),
    )
