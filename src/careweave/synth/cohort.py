"""Vectorised sampling of one chunk of people: age, sex, place, deprivation, latent factors, traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from careweave.synth.organisations import Economy
from careweave.synth.parameters import Parameters

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Cohort:
    start: int  # global index of the first person
    age: IntArray  # completed years at the reference date
    birth_days_ago: IntArray  # days before the reference date
    female: BoolArray
    practice: IntArray
    lsoa: IntArray  # index into the practice's LSOA list
    decile: IntArray  # IMD decile 1 (most deprived) - 10
    ethnicity: IntArray
    factors: FloatArray  # [person, factor]
    traits: BoolArray  # [person, trait]: conditions first, then social circumstances
    died_days_ago: IntArray  # -1 if alive

    def __len__(self) -> int:
        return int(self.age.size)


def sample_cohort(
    params: Parameters, economy: Economy, rng: np.random.Generator, start: int, n: int
) -> Cohort:
    # Age and sex from the ONS 5-year band structure; uniform within a band (90+ spread to 99).
    weights = np.concatenate([params.band_male, params.band_female])
    cell = rng.choice(weights.size, size=n, p=weights / weights.sum())
    n_bands = len(params.band_starts)
    female = cell >= n_bands
    band = cell % n_bands
    lower = np.array(params.band_starts, dtype=np.int64)[band]
    width = np.where(band == n_bands - 1, 10, 5)
    age = lower + (rng.random(n) * width).astype(np.int64)
    birth_days_ago = age * 365 + (rng.random(n) * 365).astype(np.int64) + age // 4

    n_practices = len(economy.practices)
    practice = rng.integers(0, n_practices, size=n)
    lsoa = rng.integers(0, len(economy.practices[0].lsoas), size=n)
    deciles = np.array([p.lsoa_deciles for p in economy.practices], dtype=np.int64)
    decile = deciles[practice, lsoa]
    ethnicity = rng.choice(len(params.ethnicity_codes), size=n, p=params.ethnicity_p)

    # Latent liabilities: correlated normals shifted towards higher liability with deprivation.
    step = 5.5 - decile.astype(np.float64)
    z = rng.standard_normal((n, params.factor_cholesky.shape[0]))
    factors = z @ params.factor_cholesky.T + step[:, None] * params.factor_deprivation_shift[None, :]

    prevalence_band = np.searchsorted(np.array(params.prevalence_bands), age, side="right") - 1
    sex = female.astype(np.int64)
    intercept = params.intercepts[:, prevalence_band, sex].T  # [person, trait]
    logit = (
        intercept
        + factors @ params.loadings_matrix().T
        + step[:, None] * params.deprivation_vector()[None, :]
    )
    traits = rng.random(logit.shape) < 1.0 / (1.0 + np.exp(-logit))
    keys = [t.key for t in params.traits]
    # Type 1 and type 2 diabetes are mutually exclusive diagnoses.
    traits[:, keys.index("type_2_diabetes")] &= ~traits[:, keys.index("type_1_diabetes")]

    # A few people died in the last year: mortality rises about 10% per year of age (Gompertz,
    # roughly matching ONS national life tables) and with the number of conditions.
    n_conditions = traits[:, : len(params.conditions)].sum(axis=1)
    q = np.minimum(0.5, np.exp(-10.5 + 0.095 * age + 0.12 * n_conditions))
    died = rng.random(n) < q
    died_days_ago = np.where(died, (rng.random(n) * 365).astype(np.int64) + 1, -1)
    died_days_ago = np.minimum(died_days_ago, birth_days_ago)
    return Cohort(
        start=start,
        age=age,
        birth_days_ago=birth_days_ago,
        female=female,
        practice=practice,
        lsoa=lsoa,
        decile=decile,
        ethnicity=ethnicity,
        factors=factors,
        traits=traits,
        died_days_ago=died_days_ago,
    )
