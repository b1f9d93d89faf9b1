"""Load and validate the reviewed population data file, and calibrate the latent-factor model.

Co-occurrence comes from shared latent liabilities (cardiometabolic, mental health, frailty,
respiratory) rather than independent draws. Each trait (condition or social circumstance) has
log-odds = intercept[age band, sex] + loadings . factors + deprivation term. The intercepts are
solved here so that the marginal prevalence in every age band and sex equals the cited figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

REQUIRED_TOP_LEVEL = ("authored_by", "checked_by", "date_reviewed", "date_next_review", "references")


class PopulationDataError(ValueError):
    """The population data file is malformed or a number lacks a citation."""


@dataclass(frozen=True)
class Medicine:
    dmd: str
    display: str
    dose: str
    probability: float


@dataclass(frozen=True)
class Trait:
    """A long-term condition or a social circumstance with its prevalence model."""

    key: str
    snomed: str
    display: str
    male: tuple[float, ...]  # prevalence (fraction) by prevalence band
    female: tuple[float, ...]
    loadings: tuple[float, ...]  # one per latent factor
    deprivation_log_odds: float  # per decile step towards most deprived
    specialty: str
    medicines: tuple[Medicine, ...]
    monitoring: tuple[str, ...]


@dataclass(frozen=True)
class Parameters:
    raw: dict[str, Any]
    band_starts: tuple[int, ...]  # population 5-year bands
    band_male: FloatArray  # thousands
    band_female: FloatArray
    prevalence_bands: tuple[int, ...]
    factor_names: tuple[str, ...]
    factor_cholesky: FloatArray
    factor_deprivation_shift: FloatArray
    conditions: tuple[Trait, ...]
    social: tuple[Trait, ...]
    # intercepts[trait, prevalence band, sex(0 male, 1 female)]; conditions first, then social
    intercepts: FloatArray
    monitoring: dict[str, Any]
    utilisation: dict[str, Any]
    ethnicity_codes: tuple[str, ...]
    ethnicity_p: FloatArray

    @property
    def traits(self) -> tuple[Trait, ...]:
        return self.conditions + self.social

    def loadings_matrix(self) -> FloatArray:
        return np.array([t.loadings for t in self.traits], dtype=np.float64)

    def deprivation_vector(self) -> FloatArray:
        return np.array([t.deprivation_log_odds for t in self.traits], dtype=np.float64)

    def target_prevalence(self) -> FloatArray:
        """Target prevalence as [trait, band, sex]."""
        return np.array([[t.male, t.female] for t in self.traits], dtype=np.float64).transpose(0, 2, 1)


def _require(block: dict[str, Any], key: str, where: str) -> Any:
    if key not in block:
        raise PopulationDataError(f"{where}: missing '{key}'")
    return block[key]


def _check_sources(block: dict[str, Any], where: str, references: dict[str, str]) -> None:
    source = _require(block, "source", where)
    sources = source if isinstance(source, list) else [source]
    for name in sources:
        # A source is either a key into `references` or a full citation string.
        if name not in references and len(str(name)) < 20:
            raise PopulationDataError(f"{where}: source '{name}' is not a known reference")


def _trait(
    block: dict[str, Any], where: str, factors: tuple[str, ...], n_bands: int, refs: dict[str, str]
) -> Trait:
    _check_sources(block, where, refs)
    key = str(_require(block, "key", where))
    snomed = str(_require(block, "snomed", where))
    if not snomed.isdigit() or not 6 <= len(snomed) <= 18:
        raise PopulationDataError(f"{where}: '{snomed}' is not a SNOMED CT concept id")
    male = tuple(float(v) / 100.0 for v in _require(block, "male", where))
    female = tuple(float(v) / 100.0 for v in _require(block, "female", where))
    if len(male) != n_bands or len(female) != n_bands:
        raise PopulationDataError(f"{where}: expected {n_bands} prevalence values per sex")
    if any(not 0.0 <= v < 1.0 for v in male + female):
        raise PopulationDataError(f"{where}: prevalence must be a percentage in [0, 100)")
    raw_loadings: dict[str, float] = block.get("loadings") or {}
    unknown = set(raw_loadings) - set(factors)
    if unknown:
        raise PopulationDataError(f"{where}: unknown latent factors {sorted(unknown)}")
    medicines = tuple(
        Medicine(str(m["dmd"]), str(m["display"]), str(m["dose"]), float(m["p"]))
        for m in block.get("medicines") or []
    )
    for m in medicines:
        if not m.dmd.isdigit():
            raise PopulationDataError(f"{where}: dm+d code '{m.dmd}' is not numeric")
    return Trait(
        key=key,
        snomed=snomed,
        display=str(_require(block, "display", where)),
        male=male,
        female=female,
        loadings=tuple(float(raw_loadings.get(f, 0.0)) for f in factors),
        deprivation_log_odds=float(block.get("deprivation_log_odds_per_decile", 0.0)),
        specialty=str(block.get("specialty", "")),
        medicines=medicines,
        monitoring=tuple(str(m) for m in block.get("monitoring") or []),
    )


def factor_sample(
    params_cholesky: FloatArray, shift: FloatArray, draws: int
) -> tuple[FloatArray, FloatArray]:
    """A fixed sample of (factors, deprivation step) used for calibration.

    Deciles are stratified exactly (equal numbers per decile) and normals come from a fixed
    generator, so calibration is deterministic and independent of the run's seed.
    """
    rng = np.random.default_rng(20121337)
    decile = np.repeat(np.arange(1, 11), draws // 10)
    step = 5.5 - decile.astype(np.float64)  # positive = more deprived than average
    z = rng.standard_normal((decile.size, params_cholesky.shape[0]))
    factors = z @ params_cholesky.T + step[:, None] * shift[None, :]
    return factors, step


def calibrate(
    loadings: FloatArray, deprivation: FloatArray, targets: FloatArray, factors: FloatArray, step: FloatArray
) -> FloatArray:
    """Solve intercepts[trait, band, sex] by bisection on the logit scale."""
    linear = loadings @ factors.T + deprivation[:, None] * step[None, :]  # [trait, draw]
    lo = np.full(targets.shape, -30.0)
    hi = np.full(targets.shape, 30.0)
    for _ in range(60):
        mid = (lo + hi) / 2.0
        p = 1.0 / (1.0 + np.exp(-(mid[..., None] + linear[:, None, None, :])))
        too_high = p.mean(axis=-1) > targets
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    out = (lo + hi) / 2.0
    # A target of exactly zero means "never": keep it unreachable.
    return np.where(targets <= 0.0, -60.0, out)


def parse(raw: dict[str, Any]) -> Parameters:
    for key in REQUIRED_TOP_LEVEL:
        _require(raw, key, "population.yaml")
    refs: dict[str, str] = raw["references"]
    for key in ("date_reviewed", "date_next_review"):
        if not isinstance(raw[key], dt.date):
            raise PopulationDataError(f"population.yaml: '{key}' must be a date")
    population = raw["population"]
    _check_sources(population, "population", refs)
    starts = tuple(int(v) for v in population["band_starts"])
    male = np.array(population["male"], dtype=np.float64)
    female = np.array(population["female"], dtype=np.float64)
    if not (len(starts) == male.size == female.size):
        raise PopulationDataError("population: band_starts, male and female differ in length")

    latent = raw["latent_factors"]
    _check_sources(latent, "latent_factors", refs)
    factors = tuple(str(n) for n in latent["names"])
    corr = np.array(latent["correlation"], dtype=np.float64)
    if corr.shape != (len(factors), len(factors)) or not np.allclose(corr, corr.T):
        raise PopulationDataError("latent_factors: correlation must be a symmetric square matrix")
    cholesky: FloatArray = np.asarray(np.linalg.cholesky(corr), dtype=np.float64)
    shift = np.array(latent["deprivation_shift_per_decile"], dtype=np.float64)

    bands = tuple(int(v) for v in raw["prevalence_bands"])
    conditions = tuple(
        _trait(b, f"conditions[{i}]", factors, len(bands), refs) for i, b in enumerate(raw["conditions"])
    )
    social = tuple(_trait(b, f"social[{i}]", factors, len(bands), refs) for i, b in enumerate(raw["social"]))
    keys = [t.key for t in conditions + social]
    if len(set(keys)) != len(keys):
        raise PopulationDataError("duplicate trait keys")
    monitoring: dict[str, Any] = raw["monitoring"]
    _check_sources(monitoring, "monitoring", refs)
    for t in conditions:
        for m in t.monitoring:
            if m not in monitoring:
                raise PopulationDataError(f"{t.key}: unknown monitoring '{m}'")
    utilisation: dict[str, Any] = raw["utilisation"]
    _check_sources(utilisation, "utilisation", refs)
    ethnicity = raw["ethnicity"]
    _check_sources(ethnicity, "ethnicity", refs)
    eth_p = np.array(ethnicity["percent"], dtype=np.float64)

    partial = Parameters(
        raw=raw,
        band_starts=starts,
        band_male=male,
        band_female=female,
        prevalence_bands=bands,
        factor_names=factors,
        factor_cholesky=cholesky,
        factor_deprivation_shift=shift,
        conditions=conditions,
        social=social,
        intercepts=np.zeros((0,)),
        monitoring=monitoring,
        utilisation=utilisation,
        ethnicity_codes=tuple(str(c) for c in ethnicity["codes"]),
        ethnicity_p=eth_p / eth_p.sum(),
    )
    sample, step = factor_sample(cholesky, shift, int(raw["calibration"]["draws"]))
    intercepts = calibrate(
        partial.loadings_matrix(), partial.deprivation_vector(), partial.target_prevalence(), sample, step
    )
    return Parameters(**{**partial.__dict__, "intercepts": intercepts})


@lru_cache(maxsize=1)
def load_parameters() -> Parameters:
    """The packaged, reviewed population parameters (parsed and calibrated once per process)."""
    text = resources.files("careweave.synth").joinpath("data/population.yaml").read_text(encoding="utf-8")
    return parse(yaml.safe_load(text))
