"""Segmentation end to end, Django-free: extract -> features and register -> clusters -> worklists.

The engine (DuckDB or Spark) computes features, the MLTC register and the distinct indicator
patterns; the latent class model is fitted on the patterns on one node; assignment is joined back
to people on the engine. Timings and peak memory of each stage are recorded for the summary.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from careweave.population.cluster_description import ClusterDescription, Indicator, Outcome, describe_clusters
from careweave.population.compute import assign, compute_population, pattern_counts
from careweave.population.extract_schema import Extract
from careweave.population.features import PATTERN_COUNT_COLUMN, EngineName
from careweave.population.lca import LCAModel, fit_lca, select_classes
from careweave.population.medicines.inputs import ReviewInputs
from careweave.population.medicines.worklist import with_medicines_features, worklist_features
from careweave.population.worklists import WorklistOverride, compute_worklists

# Conditions rarer than this among people on the register carry too little information for a
# latent class and make the model unstable; they still count in the register and scores.
MIN_INDICATOR_PREVALENCE = 0.01
# The numbers of classes "auto" chooses among (lowest BIC). The funded research this product rests on
# grouped people into 4-5 clusters of health and social need (docs: PRODUCT.md, seed 002), and
# population latent class studies of multimorbidity report a handful (e.g. five in Larsen et al.
# 2017, PLoS One 12:e0169426, 162,283 adults). BIC alone, on a practice-sized register and
# forty sparse indicators, penalises every class so heavily that it keeps two: one "everyone" class
# of 85-91% and one frail class, which describes nobody. An analyst wanting another K passes it.
AUTO_CLASSES = range(4, 7)
# A solution with a class smaller than this share of people is not offered when choosing K
# (classes of a handful of people cannot be acted on, and can identify them).
MIN_CLASS_SHARE = 0.02
# Every random start takes this many EM steps; the two best continue to convergence (lca.fit_lca).
INITIAL_EM_STEPS = 50
# Convergence: change in the objective per person below this. On the 100k synthetic extract this is
# 10x faster than 1e-8 and the log-likelihood differs by 5 parts per million (bench/bench_segment.py).
EM_TOLERANCE = 1e-7
# The population clusters are the MAP fit with 0.01 pseudo-counts (lca module docstring): every
# stored probability stays above zero, so a person assigned later with a combination unseen in a
# class at fit time still gets a finite posterior for it. The analysts' `careweave lca fit` is ML.
EM_SMOOTHING = 0.01


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class StageTimer:
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.stages[name] = {
            "seconds": round(time.perf_counter() - started, 3),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }


@dataclass
class SegmentationResult:
    as_of: dt.date
    engine: str
    features: pa.Table  # every living person, with cluster and probability for people on the register
    register: pa.Table
    worklists: pa.Table
    model: LCAModel
    indicators: list[str]
    class_selection: list[dict[str, Any]]
    clusters: list[ClusterDescription]
    timings: dict[str, dict[str, float]]

    @property
    def register_size(self) -> int:
        return int(pc.sum(self.features.column("mltc")).as_py() or 0)


def _indicator_columns(features: pa.Table, social_columns: Sequence[str]) -> list[str]:
    on_register = features.filter(pc.field("mltc"))
    n = max(on_register.num_rows, 1)
    conditions = [c for c in features.column_names if c.startswith("cond_")]
    kept = [
        c for c in conditions if (pc.sum(on_register.column(c)).as_py() or 0) / n >= MIN_INDICATOR_PREVALENCE
    ]
    needs = [
        c
        for c in social_columns
        if c in features.column_names and (pc.sum(on_register.column(c)).as_py() or 0) > 0
    ]
    return kept + needs


def _codes(table: pa.Table, indicators: Sequence[str]) -> npt.NDArray[np.int64]:
    return np.column_stack(
        [table.column(c).to_numpy(zero_copy_only=False).astype(np.int64) for c in indicators]
    )


def segment(
    extract: Extract,
    *,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    classes: int | Literal["auto"] = "auto",
    seed: int = 0,
    starts: int = 5,
    overrides: Sequence[WorklistOverride] = (),
    indicator_labels: dict[str, str] | None = None,
    social_columns: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> SegmentationResult:
    timer = StageTimer()
    say = progress or (lambda _s: None)
    say("features and register")
    with timer.stage("features_and_register"):
        population = compute_population(extract, as_of, engine)
    features, register = population.features, population.register
    on_register = features.filter(pc.field("mltc"))
    if on_register.num_rows < 2:
        raise ValueError("fewer than two people on the MLTC register: nothing to cluster")
    indicators = _indicator_columns(features, social_columns)
    say("pattern counts")
    with timer.stage("patterns"):
        patterns = pattern_counts(on_register, indicators, engine)
    codes = _codes(patterns, indicators)
    counts = patterns.column(PATTERN_COUNT_COLUMN).to_numpy().astype(np.int64)
    n_categories = [2] * len(indicators)
    say("latent class model")
    with timer.stage("lca_fit"):
        if classes == "auto":
            model, selection = select_classes(
                codes,
                counts,
                n_categories,
                k_range=AUTO_CLASSES,
                n_starts=starts,
                seed=seed,
                min_class_share=MIN_CLASS_SHARE,
                indicator_names=indicators,
                initial_iter=INITIAL_EM_STEPS,
                tol=EM_TOLERANCE,
                smoothing=EM_SMOOTHING,
            )
        else:
            model = fit_lca(
                codes,
                counts,
                n_categories,
                int(classes),
                n_starts=starts,
                seed=seed,
                indicator_names=indicators,
                initial_iter=INITIAL_EM_STEPS,
                tol=EM_TOLERANCE,
                smoothing=EM_SMOOTHING,
            )
            selection = [
                {
                    "n_classes": model.n_classes,
                    "loglik": model.loglik,
                    "bic": model.bic,
                    "entropy": model.entropy,
                    "smallest_class_proportion": model.smallest_class_proportion,
                    "eligible": True,
                }
            ]

    def assign_patterns(distinct: pa.Table) -> pa.Table:
        cluster, probability = model.assign(_codes(distinct, indicators))
        return distinct.append_column(
            "cluster", pa.array(np.asarray(cluster, dtype=np.int16) + 1, pa.int16())
        ).append_column(
            "cluster_probability", pa.array(np.asarray(probability, dtype=np.float64), pa.float64())
        )

    say("assignment")
    with timer.stage("assignment"):
        assigned = assign(on_register, indicators, assign_patterns, engine)
        features = _join_assignment(features, assigned)
    say("cluster descriptions")
    with timer.stage("descriptions"):
        described = features.filter(pc.field("mltc"))
        labels = indicator_labels or {}
        clusters = describe_clusters(
            described.column("cluster").to_numpy(zero_copy_only=False),
            age=described.column("age").to_numpy(zero_copy_only=False),
            sex=described.column("sex").to_numpy(zero_copy_only=False),
            deprivation_quintile=pc.fill_null(described.column("imd_quintile"), 0).to_numpy(
                zero_copy_only=False
            ),
            indicators={c: described.column(c).to_numpy(zero_copy_only=False) for c in indicators},
            condition_count=described.column("condition_count").to_numpy(zero_copy_only=False),
            indicator_info={
                c: Indicator(
                    c,
                    labels.get(c, c.removeprefix("cond_").replace("_", " ")),
                    "condition" if c.startswith("cond_") else "need",
                )
                for c in indicators
            },
            outcomes={
                "unplanned_admissions_12m": described.column("unplanned_admissions_12m").to_numpy(
                    zero_copy_only=False
                ),
                "ae_attendances_12m": described.column("ae_attendances_12m").to_numpy(zero_copy_only=False),
            },
            outcome_info={
                "unplanned_admissions_12m": Outcome("unplanned_admissions_12m", "unplanned admissions"),
                "ae_attendances_12m": Outcome("ae_attendances_12m", "A&E attendances"),
            },
        )
    say("medicines review")
    with timer.stage("medicines_review"):  # the review worklist is ranked by findings (issue 13)
        medicines = worklist_features(ReviewInputs.from_extract(extract), as_of, engine)
        features = with_medicines_features(features, medicines)
    say("worklists")
    with timer.stage("worklists"):
        worklists = compute_worklists(features, overrides=overrides, as_of=as_of)
    return SegmentationResult(
        as_of, engine, features, register, worklists, model, indicators, selection, clusters, timer.stages
    )


def _join_assignment(features: pa.Table, assigned: pa.Table) -> pa.Table:
    """Add cluster and probability (null for people not on the register), kept in person order."""
    keep = assigned.select(["person_id", "cluster", "cluster_probability"])
    return features.join(keep, "person_id", join_type="left outer").sort_by("person_id")


def planning_aggregates(result: SegmentationResult, *, suppress_below: int = 10) -> pa.Table:
    """Counts for planning: people with a national data opt-out excluded, counts under
    `suppress_below` suppressed (NHS England's small-number suppression for published statistics)."""
    usable = result.features.filter(pc.invert(pc.field("national_opt_out")))
    rows = []
    for dimension in ("practice_id", "age_band", "imd_quintile", "sex", "cluster"):
        column = usable.column(dimension)
        for value, count in zip(
            *np.unique(np.asarray(column.to_pylist(), dtype=object).astype(str), return_counts=True),
            strict=True,
        ):
            rows.append(
                {
                    "dimension": dimension,
                    "value": str(value),
                    "people": int(count) if count >= suppress_below else None,
                    "suppressed": bool(count < suppress_below),
                }
            )
    return pa.Table.from_pylist(rows)
