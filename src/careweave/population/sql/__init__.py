"""The SQL builders: a :class:`~careweave.population.features.FeatureSpecification` as lookup tables
and portable SQL steps, one module per topic.

- :mod:`.common`: the dialect, the step, the compile context and literal helpers;
- :mod:`.conditions`, :mod:`.medicines`, :mod:`.scores` (CMS, eFI, falls), :mod:`.services` (use of
  services), :mod:`.monitoring`, :mod:`.social`: each topic's lookups and steps;
- :mod:`.compiler`: the assembly (:func:`compile_steps`), the people and the feature row;
- :mod:`.output`: the order and Arrow shape of each output.

Imports the question (:mod:`careweave.population.features`), never an engine; the engines import this.
"""

from careweave.population.sql.common import DUCKDB_DIALECT, SPARK_DIALECT, Dialect, Step
from careweave.population.sql.compiler import CompiledSpecification, build_lookups, compile_steps
from careweave.population.sql.output import (
    MONITORING_DUE_SCHEMA,
    OUTPUT_ORDER,
    output_query,
    shape_features,
    shape_output,
    shape_patterns,
    shape_register,
)

__all__ = [
    "DUCKDB_DIALECT",
    "MONITORING_DUE_SCHEMA",
    "OUTPUT_ORDER",
    "SPARK_DIALECT",
    "CompiledSpecification",
    "Dialect",
    "Step",
    "build_lookups",
    "compile_steps",
    "output_query",
    "shape_features",
    "shape_output",
    "shape_patterns",
    "shape_register",
]
