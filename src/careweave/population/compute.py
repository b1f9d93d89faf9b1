"""The entry points: features, the MLTC register, pattern counts and assignment, on a chosen engine.

Each call builds the :class:`~careweave.population.features.FeatureSpecification` (the question),
opens an engine (:mod:`careweave.population.engines`) and returns Arrow tables in the stable schemas
the specification declares. A parity test (``tests/engines/test_parity.py``) proves the engines
agree person by person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from careweave.population.engines import get_engine
from careweave.population.engines.base import PatternAssigner
from careweave.population.extract_schema import Extract
from careweave.population.features import EngineName, FeatureKnowledge, FeatureSpecification

__all__ = [
    "PatternAssigner",
    "PopulationFeatures",
    "assign",
    "compute_features",
    "compute_outputs",
    "compute_population",
    "compute_register",
    "pattern_counts",
]


@dataclass(frozen=True)
class PopulationFeatures:
    """The features (one row per living person) and the MLTC register evidence."""

    features: pa.Table
    register: pa.Table


def _evaluate(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName,
    knowledge: FeatureKnowledge | None,
    outputs: tuple[str, ...],
) -> dict[str, pa.Table]:
    spec = FeatureSpecification(
        knowledge if knowledge is not None else FeatureKnowledge.from_terminology(), as_of
    )
    with get_engine(engine) as runner:
        return runner.evaluate(extract.validate(), spec, outputs)


def compute_outputs(
    extract: Extract,
    as_of: dt.date,
    outputs: Sequence[str],
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
) -> dict[str, pa.Table]:
    """Any outputs in one pass: ``features``, ``register``, ``condition_evidence`` (the register's
    evidence schema for everyone with at least one library condition, set aside or not),
    ``monitoring_due`` and ``slot_inputs`` (the features' MLTC, frailty and condition columns). The
    engine creates only the steps the asked-for outputs read, so a narrow output costs a narrow pass."""
    return _evaluate(extract, as_of, engine, knowledge, tuple(outputs))


def compute_population(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
) -> PopulationFeatures:
    """Features and register in one pass of ``engine`` over ``extract``."""
    outputs = _evaluate(extract, as_of, engine, knowledge, ("features", "register"))
    return PopulationFeatures(features=outputs["features"], register=outputs["register"])


def compute_features(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
) -> pa.Table:
    """Per-person features (schema: :meth:`FeatureSpecification.feature_schema`), sorted by person_id."""
    return _evaluate(extract, as_of, engine, knowledge, ("features",))["features"]


def compute_register(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
) -> pa.Table:
    """The MLTC register evidence (:data:`~careweave.population.features.REGISTER_SCHEMA`) for people
    with 2+ conditions."""
    return _evaluate(extract, as_of, engine, knowledge, ("register",))["register"]


def pattern_counts(
    features: pa.Table, indicator_columns: Sequence[str], engine: EngineName = "duckdb"
) -> pa.Table:
    """Distinct patterns of the indicator columns with the number of people (column ``people``)."""
    with get_engine(engine) as runner:
        return runner.pattern_counts(features, indicator_columns)


def assign(
    features: pa.Table,
    indicator_columns: Sequence[str],
    assign_patterns: PatternAssigner,
    engine: EngineName = "duckdb",
) -> pa.Table:
    """Assign every person by their pattern: ``person_id`` plus the assigner's added columns.

    The assigner (e.g. a fitted latent class model) sees only distinct patterns; the engine joins its
    answer back to people, so the result is exact and the model never sees a row per person.
    """
    with get_engine(engine) as runner:
        return runner.assign(features, indicator_columns, assign_patterns)
