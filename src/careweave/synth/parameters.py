"""Load and validate the reviewed population data file, and calibrate the latent-factor model.

The file is checked by the terminology schema code (`terminology._schema.Document`): the same review
header, references table and per-entry `sources` as every other reviewed data file.

Co-occurrence comes from shared latent liabilities (cardiometabolic, mental health, frailty,
respiratory) rather than independent draws. Each trait (condition or social circumstance) has
log-odds = intercept[age band, sex] + loadings . factors + deprivation term. The intercepts are
solved here so that the marginal prevalence in every age band and sex equals the cited figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from careweave.terminology import Document

FloatArray = NDArray[np.float64]

# Validated by the terminology schema code: the same review header, references and per-entry sources.
SCHEMA = "careweave.synth.population/1"
DATA_FILE = Path(__file__).resolve().parent / "data" / "population.yaml"
ROOT_KEYS = (
    "population",
    "prevalence_bands",
    "latent_factors",
    "calibration",
    "conditions",
    "social",
    "monitoring",
    "utilisation",
    "ethnicity",
    "referrals",
    "findings",
    "prescribing",
    "hazards",
    "history",
)
SECTORS = ("acute", "community", "mental-health", "social-care", "voluntary", "private")
TRAIT_KEYS = ("key", "snomed", "display", "sources", "male", "female")
TRAIT_OPTIONAL = (
    "loadings",
    "deprivation_log_odds_per_decile",
    "specialty",
    "medicines",
    "monitoring",
    "note",
    "repeat",
)


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
    repeat: bool = False  # a finding recorded more than once (falls)


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
    findings: tuple[Trait, ...]
    # intercepts[trait, prevalence band, sex(0 male, 1 female)]; conditions, social, then findings
    intercepts: FloatArray
    monitoring: dict[str, Any]
    utilisation: dict[str, Any]
    ethnicity_codes: tuple[str, ...]
    ethnicity_p: FloatArray
    # specialty or service -> (SNOMED CT referral procedure, display, sector that receives it)
    referrals: dict[str, tuple[str, str, str]]
    prescribing: dict[str, Any]
    hazards: dict[str, Any]
    history: dict[str, Any]

    @property
    def traits(self) -> tuple[Trait, ...]:
        return self.conditions + self.social + self.findings

    def loadings_matrix(self) -> FloatArray:
        return np.array([t.loadings for t in self.traits], dtype=np.float64)

    def deprivation_vector(self) -> FloatArray:
        return np.array([t.deprivation_log_odds for t in self.traits], dtype=np.float64)

    def target_prevalence(self) -> FloatArray:
        """Target prevalence as [trait, band, sex]."""
        return np.array([[t.male, t.female] for t in self.traits], dtype=np.float64).transpose(0, 2, 1)


def _trait(doc: Document, block: object, where: str, factors: tuple[str, ...], n_bands: int) -> Trait:
    block = doc.mapping(block, where)
    doc.keys(block, where, TRAIT_KEYS, TRAIT_OPTIONAL)
    doc.sources(block, where)
    key = doc.identifier(block, "key", where)
    snomed = doc.string(block, "snomed", where)
    if not snomed.isdigit() or not 6 <= len(snomed) <= 18:
        raise doc.error(f"{where}.snomed", f"'{snomed}' is not a SNOMED CT concept id")
    male = tuple(float(v) / 100.0 for v in block["male"])
    female = tuple(float(v) / 100.0 for v in block["female"])
    if len(male) != n_bands or len(female) != n_bands:
        raise doc.error(where, f"expected {n_bands} prevalence values per sex")
    if any(not 0.0 <= v < 1.0 for v in male + female):
        raise doc.error(where, "prevalence must be a percentage in [0, 100)")
    raw_loadings: dict[str, float] = block.get("loadings") or {}
    unknown = set(raw_loadings) - set(factors)
    if unknown:
        raise doc.error(f"{where}.loadings", f"unknown latent factors {sorted(unknown)}")
    medicines = tuple(
        Medicine(str(m["dmd"]), str(m["display"]), str(m["dose"]), float(m["p"]))
        for m in block.get("medicines") or []
    )
    for m in medicines:
        if not m.dmd.isdigit():
            raise doc.error(f"{where}.medicines", f"dm+d code '{m.dmd}' is not numeric")
    return Trait(
        key=key,
        snomed=snomed,
        display=doc.string(block, "display", where),
        male=male,
        female=female,
        loadings=tuple(float(raw_loadings.get(f, 0.0)) for f in factors),
        deprivation_log_odds=float(block.get("deprivation_log_odds_per_decile", 0.0)),
        specialty=str(block.get("specialty", "")),
        medicines=medicines,
        monitoring=tuple(str(m) for m in block.get("monitoring") or []),
        repeat=bool(block.get("repeat", False)),
    )


def _block(doc: Document, key: str) -> dict[str, Any]:
    """A top-level block that cites its sources."""
    block = doc.mapping(doc.root[key], key)
    doc.sources(block, key)
    return block


def _referrals(doc: Document) -> dict[str, tuple[str, str, str]]:
    to = doc.mapping(_block(doc, "referrals").get("to"), "referrals.to")
    result: dict[str, tuple[str, str, str]] = {}
    for name, entry in to.items():
        where = f"referrals.to.{name}"
        entry = doc.mapping(entry, where)
        doc.keys(entry, where, ("snomed", "display", "sector"))
        snomed = doc.string(entry, "snomed", where)
        if not snomed.isdigit() or not 6 <= len(snomed) <= 18:
            raise doc.error(f"{where}.snomed", f"'{snomed}' is not a SNOMED CT concept id")
        sector = doc.string(entry, "sector", where)
        if sector not in SECTORS:
            raise doc.error(f"{where}.sector", f"expected one of {', '.join(SECTORS)}")
        result[str(name)] = (snomed, doc.string(entry, "display", where), sector)
    return result


def _hazards(doc: Document) -> dict[str, Any]:
    """Hazardous combinations: each a percentage of the people it can happen to (0-100)."""
    block = _block(doc, "hazards")
    for name, entry in block.items():
        if name in ("sources", "note"):
            continue
        where = f"hazards.{name}"
        entry = doc.mapping(entry, where)
        percent = entry.get("percent")
        if not isinstance(percent, int | float) or not 0 <= float(percent) <= 100:
            raise doc.error(f"{where}.percent", "must be a percentage in [0, 100]")
        for m in entry.get("add") or []:
            if not str(m.get("dmd", "")).isdigit():
                raise doc.error(f"{where}.add", f"dm+d code '{m.get('dmd')}' is not numeric")
    return block


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


def parse(doc: Document) -> Parameters:
    """Check the document against the schema and calibrate the model it describes."""
    doc.check_root_keys(ROOT_KEYS)
    raw = doc.root
    population = _block(doc, "population")
    starts = tuple(int(v) for v in population["band_starts"])
    male = np.array(population["male"], dtype=np.float64)
    female = np.array(population["female"], dtype=np.float64)
    if not (len(starts) == male.size == female.size):
        raise doc.error("population", "band_starts, male and female differ in length")

    latent = _block(doc, "latent_factors")
    factors = tuple(str(n) for n in latent["names"])
    corr = np.array(latent["correlation"], dtype=np.float64)
    if corr.shape != (len(factors), len(factors)) or not np.allclose(corr, corr.T):
        raise doc.error("latent_factors.correlation", "must be a symmetric square matrix")
    cholesky: FloatArray = np.asarray(np.linalg.cholesky(corr), dtype=np.float64)
    shift = np.array(latent["deprivation_shift_per_decile"], dtype=np.float64)

    bands = tuple(int(v) for v in raw["prevalence_bands"])
    conditions = tuple(
        _trait(doc, b, f"conditions[{i}]", factors, len(bands)) for i, b in enumerate(raw["conditions"])
    )
    social = tuple(_trait(doc, b, f"social[{i}]", factors, len(bands)) for i, b in enumerate(raw["social"]))
    findings = tuple(
        _trait(
            doc,
            {"specialty": "", "medicines": [], "monitoring": [], **b},
            f"findings[{i}]",
            factors,
            len(bands),
        )
        for i, b in enumerate(raw["findings"])
    )
    keys = [t.key for t in conditions + social + findings]
    if len(set(keys)) != len(keys):
        raise doc.error("conditions", "duplicate trait keys")
    monitoring = _block(doc, "monitoring")
    for t in conditions:
        for m in t.monitoring:
            if m not in monitoring:
                raise doc.error(t.key, f"unknown monitoring '{m}'")
    utilisation = _block(doc, "utilisation")
    ethnicity = _block(doc, "ethnicity")
    eth_p = np.array(ethnicity["percent"], dtype=np.float64)
    referrals = _referrals(doc)
    prescribing = _block(doc, "prescribing")
    hazards = _hazards(doc)
    history = _block(doc, "history")
    for kind, entry in monitoring.items():
        if isinstance(entry, dict) and "interval_months" in entry and "unit" not in entry and kind != "bp":
            raise doc.error(f"monitoring.{kind}", "needs a unit")

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
        findings=findings,
        intercepts=np.zeros((0,)),
        monitoring=monitoring,
        utilisation=utilisation,
        ethnicity_codes=tuple(str(c) for c in ethnicity["codes"]),
        ethnicity_p=eth_p / eth_p.sum(),
        referrals=referrals,
        prescribing=prescribing,
        hazards=hazards,
        history=history,
    )
    sample, step = factor_sample(cholesky, shift, int(raw["calibration"]["draws"]))
    intercepts = calibrate(
        partial.loadings_matrix(), partial.deprivation_vector(), partial.target_prevalence(), sample, step
    )
    return Parameters(**{**partial.__dict__, "intercepts": intercepts})


@lru_cache(maxsize=4)
def load_parameters(path: Path | None = None) -> Parameters:
    """The reviewed population parameters (parsed and calibrated once per process); tests pass a path.

    Raises `TerminologyError` naming the file and field, as every reviewed data file does.
    """
    return parse(Document(path or DATA_FILE, SCHEMA))
