"""Fitting: one K-class model from random starts (:func:`fit_lca`), and the choice of K by BIC
(:func:`select_classes`). Classes come out in canonical order, largest first."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, TypedDict, Unpack

import numpy as np
import numpy.typing as npt

from careweave.population.lca.em import (
    EMMap,
    Layout,
    Run,
    check_codes,
    one_hot_t,
    random_start,
    single_threaded_blas,
    squarem,
)
from careweave.population.lca.model import LCAModel


def fit_lca(
    patterns: npt.ArrayLike,
    counts: npt.ArrayLike,
    n_categories: Sequence[int],
    n_classes: int,
    *,
    n_starts: int = 10,
    seed: int = 0,
    max_iter: int = 1000,
    initial_iter: int | None = None,
    final_starts: int = 2,
    tol: float = 1e-8,
    smoothing: float = 0.0,
    indicator_names: Sequence[str] | None = None,
    category_labels: Sequence[Sequence[str]] | None = None,
) -> LCAModel:
    """Fit a K-class latent class model to distinct patterns with counts.

    ``patterns`` is (P, J) integer category codes, ``-1`` = missing; ``counts`` (P,) how many
    people share each pattern (rows need not be distinct: passing every row with counts of 1 gives
    the same fit). ``n_categories[j]`` is the number of categories of indicator j (codes
    0..C_j-1). EM runs from ``n_starts`` random starts and keeps the best log-likelihood;
    convergence is a change in the objective per person below ``tol`` over one EM step;
    ``max_iter`` caps EM steps per start (SQUAREM's extrapolated steps count). See the module
    docstring for the smoothing, missing-data and labelling conventions. ``smoothing`` 0 (the
    default) is the maximum-likelihood fit, as poLCA, Mplus and StepMix report; a positive value is
    the MAP fit with that many pseudo-counts. ``loglik`` is always the unpenalised log-likelihood.
    """
    n_cats = [int(c) for c in n_categories]
    codes = check_codes(patterns, n_cats)
    weights = np.asarray(counts, dtype=np.float64).reshape(-1)
    if weights.shape[0] != codes.shape[0]:
        raise ValueError(f"{codes.shape[0]} patterns but {weights.shape[0]} counts")
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError("counts must be finite and non-negative")
    if n_classes < 1:
        raise ValueError("n_classes must be at least 1")
    if n_starts < 1 or max_iter < 1:
        raise ValueError("n_starts and max_iter must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if not (math.isfinite(smoothing) and smoothing >= 0):
        raise ValueError("smoothing must be 0 (maximum likelihood) or a positive number of pseudo-counts")
    if any(c < 1 for c in n_cats):
        raise ValueError("every indicator needs at least one category")
    names = (
        tuple(indicator_names)
        if indicator_names is not None
        else tuple(f"x{j + 1}" for j in range(len(n_cats)))
    )
    labels = (
        tuple(tuple(str(v) for v in c) for c in category_labels)
        if category_labels is not None
        else tuple(tuple(str(c) for c in range(k)) for k in n_cats)
    )
    if len(names) != len(n_cats) or [len(c) for c in labels] != n_cats:
        raise ValueError("indicator_names / category_labels do not match n_categories")

    # People with nothing observed have the same likelihood (1) under every class: drop them.
    observed = (codes >= 0).any(axis=1) & (weights > 0)
    n_all_missing = float(weights[~observed].sum())
    codes, weights = codes[observed], weights[observed]
    n_obs = float(weights.sum())
    if n_obs <= 0:
        raise ValueError("no observations with any observed indicator")

    layout = Layout(n_cats)
    onehot_t = one_hot_t(codes, layout)
    # Smoothed marginals, used only to centre the random starts.
    col_counts = onehot_t @ weights
    marginals = (col_counts + 0.5) / (
        layout.block_sum(col_counts) + 0.5 * np.repeat(layout.sizes, layout.sizes)
    )

    em = EMMap(onehot_t, weights, layout, smoothing)
    best: Run | None = None
    start_lls: list[float] = []
    with single_threaded_blas():
        if initial_iter is None:
            for s in range(n_starts):
                rng = np.random.default_rng([seed, n_classes, s])
                run = squarem(
                    em, *random_start(rng, marginals, layout, n_classes), max_iter=max_iter, tol=tol
                )
                start_lls.append(run.loglik)
                if best is None or run.loglik > best.loglik:
                    best = run
        else:
            # Two stages, as Mplus's STARTS option: every start takes `initial_iter` steps, then only
            # the `final_starts` most promising continue to convergence. On weakly separated data
            # most of the time of full runs is spent polishing starts that will lose.
            initial = []
            for s in range(n_starts):
                rng = np.random.default_rng([seed, n_classes, s])
                initial.append(
                    squarem(
                        em, *random_start(rng, marginals, layout, n_classes), max_iter=initial_iter, tol=tol
                    )
                )
            ranked = sorted(range(n_starts), key=lambda i: -initial[i].loglik)
            for i in ranked[: max(1, final_starts)]:
                run = (
                    initial[i]
                    if initial[i].converged
                    else squarem(em, initial[i].log_theta, initial[i].log_w, max_iter=max_iter, tol=tol)
                )
                start_lls.append(run.loglik)
                if best is None or run.loglik > best.loglik:
                    best = run
    assert best is not None

    # Canonical order: largest estimated class first (stable, so ties keep start order).
    post_sizes = best.resp @ weights
    order = np.argsort(-post_sizes, kind="stable")
    resp = best.resp[order]
    post_sizes = post_sizes[order]
    theta = np.exp(best.log_theta[order])
    pi = np.exp(best.log_w[order])
    probabilities = tuple(
        np.ascontiguousarray(theta[:, a : a + c]) for a, c in zip(layout.starts, layout.sizes, strict=True)
    )

    modal = np.bincount(np.argmax(resp, axis=0), weights=weights, minlength=n_classes)
    if n_classes > 1:
        plogp = np.where(resp > 0, resp * np.log(np.where(resp > 0, resp, 1.0)), 0.0)
        entropy = 1.0 - float(-(plogp.sum(axis=0) @ weights)) / (n_obs * math.log(n_classes))
    else:
        entropy = 1.0
    n_params = (n_classes - 1) + n_classes * sum(c - 1 for c in n_cats)
    return LCAModel(
        n_classes=n_classes,
        weights=pi,
        probabilities=probabilities,
        indicator_names=names,
        category_labels=labels,
        loglik=best.loglik,
        n_params=n_params,
        bic=-2.0 * best.loglik + n_params * math.log(n_obs),
        aic=-2.0 * best.loglik + 2.0 * n_params,
        entropy=entropy,
        class_sizes_modal=tuple(int(round(m)) for m in modal),
        class_sizes_posterior=tuple(float(s) for s in post_sizes),
        smallest_class_proportion=float(post_sizes.min() / n_obs),
        n_obs=n_obs,
        n_patterns=int(codes.shape[0]),
        n_all_missing=n_all_missing,
        converged=best.converged,
        iterations=best.iterations,
        n_starts=n_starts,
        seed=seed,
        smoothing=smoothing,
        start_logliks=tuple(start_lls),
    )


class FitOptions(TypedDict, total=False):
    """:func:`fit_lca`'s keyword options, which :func:`select_classes` passes on for every K."""

    n_starts: int
    seed: int
    max_iter: int
    initial_iter: int | None
    final_starts: int
    tol: float
    smoothing: float
    indicator_names: Sequence[str] | None
    category_labels: Sequence[Sequence[str]] | None


def select_classes(
    patterns: npt.ArrayLike,
    counts: npt.ArrayLike,
    n_categories: Sequence[int],
    *,
    k_range: Iterable[int] = range(2, 8),
    min_class_share: float = 0.0,
    **options: Unpack[FitOptions],
) -> tuple[LCAModel, list[dict[str, Any]]]:
    """Fit each K in ``k_range`` and keep the lowest BIC.

    Solutions whose smallest estimated class is below ``min_class_share`` of people are marked
    ineligible (a common rule of thumb is 0.05: a class of a handful of people is rarely a stable
    or useful group, Weller, Bowen & Faubert 2020, J. Black Psychol. 46:287). If no K is eligible
    the lowest BIC overall is returned and its table row says ``eligible: False``.
    Every other keyword is :func:`fit_lca`'s, with its defaults. Returns the chosen model and one
    summary row per K.
    """
    fits: list[LCAModel] = []
    table: list[dict[str, Any]] = []
    for k in k_range:
        m = fit_lca(patterns, counts, n_categories, k, **options)
        fits.append(m)
        table.append(
            {
                "n_classes": k,
                "loglik": m.loglik,
                "n_params": m.n_params,
                "bic": m.bic,
                "aic": m.aic,
                "entropy": m.entropy,
                "smallest_class_proportion": m.smallest_class_proportion,
                "smallest_class_size": min(m.class_sizes_modal),
                "converged": m.converged,
                "eligible": m.smallest_class_proportion >= min_class_share,
                "version": m.version,
            }
        )
    if not fits:
        raise ValueError("k_range is empty")
    eligible = [i for i, row in enumerate(table) if row["eligible"]] or list(range(len(fits)))
    best = min(eligible, key=lambda i: fits[i].bic)
    for i, row in enumerate(table):
        row["chosen"] = i == best
    return fits[best], table
