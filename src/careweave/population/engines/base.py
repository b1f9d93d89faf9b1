"""The interface every population engine implements, and the checks and lifecycle they share.

An engine runs a :class:`~careweave.population.features.FeatureSpecification`, compiled by
:mod:`careweave.population.sql`, over an :class:`~careweave.population.extract_schema.Extract` and
hands back Arrow tables with the stable schemas the specification declares. Engines differ only in
where the SQL steps run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self

import pyarrow as pa

from careweave.population.extract_schema import Extract
from careweave.population.features import FeatureSpecification
from careweave.population.sql import Step, output_query, shape_output
from careweave.population.sql.common import steps_needed

PatternAssigner = Callable[[pa.Table], pa.Table]
"""Given the distinct patterns (indicator columns), return them with assignment columns added."""


class PopulationEngine(Protocol):
    """A context manager that evaluates feature specifications and pattern queries."""

    name: str

    def evaluate(
        self, extract: Extract, spec: FeatureSpecification, outputs: Sequence[str]
    ) -> dict[str, pa.Table]:
        """Run the specification; return the requested outputs (``features``, ``register``)."""
        ...

    def prepare(
        self, extract: Extract, spec: FeatureSpecification, outputs: Sequence[str] | None = None
    ) -> None:
        """Register the inputs and set up the steps ``outputs`` need (every step when None), ready
        for :meth:`fetch`."""
        ...

    def fetch(self, output: str) -> pa.Table:
        """One output (one of :data:`OUTPUTS`, prepared) of the prepared specification."""
        ...

    def pattern_counts(self, features: pa.Table, indicator_columns: Sequence[str]) -> pa.Table:
        """Distinct indicator patterns with the number of people in each (column ``people``)."""
        ...

    def assign(
        self, features: pa.Table, indicator_columns: Sequence[str], assign_patterns: PatternAssigner
    ) -> pa.Table:
        """Per-person assignment: the assigner's answer for each pattern joined back to people."""
        ...

    def release(self) -> None:
        """Free the prepared steps' memory; the engine stays usable for pattern queries."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> PopulationEngine: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


OUTPUTS = ("features", "register", "condition_evidence", "monitoring_due", "slot_inputs")


def needed_steps(steps: Sequence[Step], outputs: Sequence[str] | None) -> tuple[Step, ...]:
    """The steps the outputs' queries read, directly or through other steps (all when ``outputs`` is
    None), in compiled order: an engine creates only these."""
    if outputs is None:
        return tuple(steps)
    check_outputs(outputs)
    return steps_needed(steps, [output_query(name) for name in outputs])


def check_prepared(output: str, prepared: frozenset[str] | None) -> None:
    """``output`` may be fetched: it is known, and the engine was prepared for it."""
    check_outputs([output])
    if prepared is None:
        raise RuntimeError("prepare() a specification before fetching its outputs")
    if output not in prepared:
        raise RuntimeError(f"output {output!r} was not prepared (prepared: {sorted(prepared)})")


class EngineLifecycle:
    """What every engine does the same way: context management, and evaluate as prepare then fetch."""

    def prepare(
        self, extract: Extract, spec: FeatureSpecification, outputs: Sequence[str] | None = None
    ) -> None:
        raise NotImplementedError

    _spec: FeatureSpecification | None = None
    _prepared: frozenset[str] | None = None

    def _prepared_for(self, spec: FeatureSpecification, outputs: Sequence[str] | None) -> None:
        """Remember what :meth:`prepare` ran, so :meth:`fetch` refuses an output it did not."""
        self._spec = spec
        self._prepared = frozenset(OUTPUTS if outputs is None else outputs)

    def _query(self, sql: str) -> pa.Table:
        """Run one query over the prepared steps, as Arrow (the only part engines do differently)."""
        raise NotImplementedError

    def fetch(self, output: str) -> pa.Table:
        """One output (one of :data:`OUTPUTS`) of the prepared specification; it must be among the
        outputs :meth:`prepare` was given."""
        check_prepared(output, self._prepared)
        assert self._spec is not None
        return shape_output(output, self._query(output_query(output)), self._spec)

    def close(self) -> None:
        raise NotImplementedError

    def evaluate(
        self, extract: Extract, spec: FeatureSpecification, outputs: Sequence[str]
    ) -> dict[str, pa.Table]:
        """Run the specification; return the requested outputs (``features``, ``register``)."""
        check_outputs(outputs)
        self.prepare(extract, spec, outputs)
        return {name: self.fetch(name) for name in outputs}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def check_outputs(outputs: Sequence[str]) -> None:
    unknown = set(outputs) - set(OUTPUTS)
    if unknown:
        raise ValueError(f"unknown output(s) {sorted(unknown)}; expected some of {OUTPUTS}")


def check_indicators(features: pa.Table, indicator_columns: Sequence[str]) -> None:
    """Indicator columns must exist, be distinct and hold no nulls (patterns are joined on them)."""
    if len(set(indicator_columns)) != len(indicator_columns):
        raise ValueError("indicator columns are repeated")
    for name in indicator_columns:
        if name not in features.column_names:
            raise ValueError(f"features have no indicator column {name!r}")
        if features.column(name).null_count:
            raise ValueError(f"indicator column {name!r} holds nulls")
    if "person_id" not in features.column_names:
        raise ValueError("features have no person_id column")


def check_assignment(patterns: pa.Table, assigned: pa.Table, indicator_columns: Sequence[str]) -> list[str]:
    """The assigner must return every pattern once, with its indicator columns unchanged.

    Returns the added (assignment) column names.
    """
    for name in indicator_columns:
        if name not in assigned.column_names:
            raise ValueError(f"assigned patterns lost indicator column {name!r}")
    added = [n for n in assigned.column_names if n not in indicator_columns and n != "people"]
    if not added:
        raise ValueError("the assigner added no columns")
    if "person_id" in added:
        raise ValueError("the assigner must not return a person_id column")
    if assigned.num_rows != patterns.num_rows:
        raise ValueError(f"the assigner returned {assigned.num_rows} rows for {patterns.num_rows} patterns")
    return added
