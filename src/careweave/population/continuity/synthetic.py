"""Synthetic contacts for the parity tests and the benchmark: people registered at practices of a few
GPs each, who see their usual GP with a probability of their own and otherwise any GP of the
practice, on days over three years (several contacts on one day happen). Vectorised (numpy and
Arrow), so thirty million contacts take seconds. Not a model of real consultations (synth/ owns those)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .extract import CONTACT_SCHEMA


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(prefix), pc.cast(pa.array(numbers), pa.string()), "")


def generate(
    people: int,
    *,
    contacts_per_person: float = 30.0,
    seed: int = 0,
    first_person: int = 0,
    gps_per_practice: int = 6,
    days: int = 1095,
) -> pa.Table:
    """Contacts of people ``first_person`` .. ``first_person + people - 1`` (about
    ``contacts_per_person`` each, at least one), in no particular order."""
    rng = np.random.default_rng([seed, first_person])
    per_person = rng.poisson(contacts_per_person - 1, people) + 1
    number = np.arange(first_person, first_person + people, dtype=np.int64)
    person = np.repeat(number, per_person)
    n = len(person)
    practice = np.repeat(number // 8000, per_person)  # about 8,000 people a practice
    usual = np.repeat(rng.integers(0, gps_per_practice, people), per_person)
    loyalty = np.repeat(rng.beta(2.0, 2.0, people), per_person)
    gp = np.where(rng.random(n) < loyalty, usual, rng.integers(0, gps_per_practice, n))
    order = rng.permutation(n)  # rows in any order, as a file would have them
    return pa.table(
        {
            "person": _ids("P", person[order]),
            "day": pa.array(rng.integers(19_000, 19_000 + days, n).astype(np.int32)),
            "clinician": _ids("G", (practice * gps_per_practice + gp)[order]),
        },
        schema=CONTACT_SCHEMA,
    )


def batches(
    people: int, *, batch: int = 100_000, seed: int = 0, contacts_per_person: float = 30.0
) -> Iterator[pa.Table]:
    """:func:`generate` in batches of ``batch`` people (for writing a large extract in pieces)."""
    for first in range(0, people, batch):
        yield generate(
            min(batch, people - first), seed=seed, first_person=first, contacts_per_person=contacts_per_person
        )
