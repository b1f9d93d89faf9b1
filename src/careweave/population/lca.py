"""Latent class analysis: a finite mixture of independent categorical indicators, fitted by EM.

The model (Lazarsfeld & Henry 1968; notation of Linzer & Lewis 2011, "poLCA", J. Stat. Softw. 42(10)):

    P(x) = sum_k  pi_k  prod_j  theta_{k,j,x_j}

over J categorical indicators (condition flags, social needs, any analyst column) and K classes.

Design choices, and why:

* **Fit on distinct patterns with counts.** People with the same indicator pattern have identical
  posteriors, so the log-likelihood sum_i log P(x_i) equals sum_p n_p log P(x_p). Every EM step is
  the same arithmetic on P distinct patterns instead of N people (1M people -> ~80k patterns).
* **Missing at random, full information.** A missing indicator (code -1) is left out of that
  person's product, i.e. integrated out; its M-step denominators count observed values only
  (Vermunt & Magidson, Latent GOLD technical guide, "missing values"; StepMix's ``*_nan`` models).
  People with every indicator missing carry no information and are excluded from the fit.
* **Log space.** Class log-likelihoods are combined with log-sum-exp, so products of many small
  probabilities never underflow.
* **Additive smoothing.** The M-step adds ``smoothing`` pseudo-counts to every category of every
  indicator within every class, and to every class weight:
  ``theta_kjc = (n_kjc + a) / (n_kj + a C_j)``, ``pi_k = (n_k + a) / (N + a K)``. This is the
  posterior mode under a Dirichlet(1 + a) prior (MAP-EM, cf. Galindo Garre & Vermunt 2006,
  Behaviormetrika 33:43). It keeps every probability strictly positive, so a category unseen in a
  class at fit time cannot give a new person log(0) = -inf for that class. With the default
  a = 0.01 the effect on probabilities is below 0.01 / (class size). The reported log-likelihood is
  the ordinary (unpenalised) one.
* **Random starts.** EM finds a local maximum, so several starts are run and the one with the
  highest log-likelihood is kept (Linzer & Lewis 2011, section 2.2). Start s of a K-class fit uses
  ``numpy.random.default_rng([seed, K, s])``; starting values depend only on the seed and on the
  indicators' marginal distributions, never on row order or on how rows were grouped, so fitting
  the patterns and fitting the expanded rows follow the same EM path.
* **Acceleration.** EM steps are extrapolated with SQUAREM (Varadhan & Roland 2008), which keeps
  EM's monotone objective and fixed points but needs several times fewer steps (see ``_em``).
* **Canonical labels.** Classes are renumbered by descending estimated size, so class 0 is the
  largest and two fits can be compared.
* **Model choice.** BIC = -2 LL + p ln N (Schwarz 1978), the criterion recommended for LCA by
  Nylund, Asparouhov & Muthen 2007 (Struct. Equ. Modeling 14:535). Classification quality is
  reported as Ramaswamy et al.'s normalised entropy (1993, Marketing Science 12:103):
  E = 1 - sum_i sum_k -r_ik ln r_ik / (N ln K), in [0, 1]; 1 means every person is assigned with
  certainty. It is 1.0 by definition when K = 1.

Only numpy is needed at runtime; StepMix is used by the tests as an independent check.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "MODEL_FORMAT",
    "LCAModel",
    "distinct_patterns",
    "fit_csv",
    "fit_lca",
    "read_categorical_csv",
    "select_classes",
]

MODEL_FORMAT = "careweave-lca/1"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Spread of the random starting values around the observed marginals, on the log-odds scale:
# factors between e^-1.5 and e^1.5 per category, i.e. a 2% condition starts between ~0.5% and ~9%
# in each class. Wide enough for starts to reach different optima, narrow enough that rare
# indicators do not start at an implausible 50%.
_START_SPREAD = 1.5


def _single_threaded_blas() -> contextlib.AbstractContextManager[object]:
    """Run BLAS on one thread inside the EM, if threadpoolctl is installed.

    The EM's matrix products are long and thin (K x sum C_j times sum C_j x P), so threads gain
    little; on a busy 2-core machine OpenBLAS's spinning threads made a 1M-person fit 5x slower
    (20 s wall against 4 s on one thread, measured). threadpoolctl is optional: without it the fit
    is the same up to rounding, only slower under load.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limiter


# ----------------------------------------------------------------------------------------------
# distinct patterns


def distinct_patterns(X: npt.ArrayLike) -> tuple[npt.NDArray[Any], IntArray, npt.NDArray[np.intp]]:
    """Collapse rows of category codes (``-1`` = missing) into distinct patterns.

    Returns ``(patterns, counts, inverse)`` with ``patterns[inverse] == X``, patterns in sorted
    order, ``counts[p]`` the number of rows with pattern ``p``. ``patterns`` keeps ``X``'s dtype.
    """
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D array of category codes, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"category codes must be integers, got dtype {arr.dtype}")
    n, n_cols = arr.shape
    if n == 0:
        return arr.copy(), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.intp)
    if n_cols and int(arr.min()) < -1:
        raise ValueError("category codes must be >= 0, or -1 for missing")
    # Pack each row into one int64 (mixed radix, missing -> digit 0) when it fits: sorting one key
    # column is several times faster than np.unique(axis=0), which sorts rows lexicographically.
    radices = [int(arr[:, j].max()) + 2 for j in range(n_cols)]
    if math.prod(radices) < 2**62:
        key = np.zeros(n, dtype=np.int64)
        for j, radix in enumerate(radices):
            key *= radix
            key += arr[:, j]
            key += 1
        _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        patterns = arr[first]
    else:
        patterns, inverse, counts = np.unique(arr, axis=0, return_inverse=True, return_counts=True)
    return patterns, counts.astype(np.int64), inverse.reshape(-1).astype(np.intp)


# ----------------------------------------------------------------------------------------------
# the fitted model


@dataclass(frozen=True, eq=False)
class LCAModel:
    """A fitted latent class model. Classes are numbered by descending size (0 = largest).

    ``probabilities[j][k, c]`` is P(indicator j = category c | class k). ``class_sizes_modal``
    counts people by their most probable class; ``class_sizes_posterior`` sums posterior
    probabilities (the estimated class sizes). ``entropy`` is Ramaswamy's normalised entropy.
    ``version`` is a content hash of the specification and parameters: the same fit gives the same
    version, and a stored model whose numbers were altered fails to load.
    """

    n_classes: int
    weights: FloatArray
    probabilities: tuple[FloatArray, ...]
    indicator_names: tuple[str, ...]
    category_labels: tuple[tuple[str, ...], ...]
    loglik: float
    n_params: int
    bic: float
    aic: float
    entropy: float
    class_sizes_modal: tuple[int, ...]
    class_sizes_posterior: tuple[float, ...]
    smallest_class_proportion: float
    n_obs: float
    n_patterns: int
    n_all_missing: float
    converged: bool
    iterations: int
    n_starts: int
    seed: int
    smoothing: float
    start_logliks: tuple[float, ...]
    version: str = field(default="")

    def __post_init__(self) -> None:
        if not self.version:
            object.__setattr__(self, "version", self._content_hash())

    # -- identity and storage -------------------------------------------------------------------

    def _content_hash(self) -> str:
        content = {
            "format": MODEL_FORMAT,
            "indicator_names": list(self.indicator_names),
            "category_labels": [list(c) for c in self.category_labels],
            "weights": [float(w) for w in self.weights],
            "probabilities": [p.tolist() for p in self.probabilities],
            "smoothing": self.smoothing,
        }
        blob = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
        return f"lca-{self.n_classes}c-{hashlib.sha256(blob).hexdigest()[:16]}"

    @property
    def n_categories(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.category_labels)

    @property
    def n_indicators(self) -> int:
        return len(self.indicator_names)

    @property
    def entropy_measure(self) -> str:
        return "Ramaswamy et al. (1993) normalised entropy, 1 - sum(-r ln r) / (N ln K); 1 = certain"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "version": self.version,
            "n_classes": self.n_classes,
            "indicator_names": list(self.indicator_names),
            "category_labels": [list(c) for c in self.category_labels],
            "weights": [float(w) for w in self.weights],
            "probabilities": [p.tolist() for p in self.probabilities],
            "loglik": self.loglik,
            "n_params": self.n_params,
            "bic": self.bic,
            "aic": self.aic,
            "entropy": self.entropy,
            "entropy_measure": self.entropy_measure,
            "class_sizes_modal": list(self.class_sizes_modal),
            "class_sizes_posterior": list(self.class_sizes_posterior),
            "smallest_class_proportion": self.smallest_class_proportion,
            "n_obs": self.n_obs,
            "n_patterns": self.n_patterns,
            "n_all_missing": self.n_all_missing,
            "converged": self.converged,
            "iterations": self.iterations,
            "n_starts": self.n_starts,
            "seed": self.seed,
            "smoothing": self.smoothing,
            "start_logliks": list(self.start_logliks),
        }

    def to_json(self) -> str:
        # Python's float repr round-trips exactly, so from_json(to_json(m)) has identical numbers.
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> LCAModel:
        try:
            d = json.loads(text)
            if d.get("format") != MODEL_FORMAT:
                raise ValueError(f"unsupported model format {d.get('format')!r}, expected {MODEL_FORMAT!r}")
            model = cls(
                n_classes=int(d["n_classes"]),
                weights=np.asarray(d["weights"], dtype=np.float64),
                probabilities=tuple(np.asarray(p, dtype=np.float64) for p in d["probabilities"]),
                indicator_names=tuple(d["indicator_names"]),
                category_labels=tuple(tuple(c) for c in d["category_labels"]),
                loglik=float(d["loglik"]),
                n_params=int(d["n_params"]),
                bic=float(d["bic"]),
                aic=float(d["aic"]),
                entropy=float(d["entropy"]),
                class_sizes_modal=tuple(int(s) for s in d["class_sizes_modal"]),
                class_sizes_posterior=tuple(float(s) for s in d["class_sizes_posterior"]),
                smallest_class_proportion=float(d["smallest_class_proportion"]),
                n_obs=float(d["n_obs"]),
                n_patterns=int(d["n_patterns"]),
                n_all_missing=float(d["n_all_missing"]),
                converged=bool(d["converged"]),
                iterations=int(d["iterations"]),
                n_starts=int(d["n_starts"]),
                seed=int(d["seed"]),
                smoothing=float(d["smoothing"]),
                start_logliks=tuple(float(x) for x in d["start_logliks"]),
                version=str(d["version"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a stored latent class model: {exc}") from exc
        if model.version != model._content_hash():
            raise ValueError(
                f"model version {model.version!r} does not match its parameters (altered or corrupt)"
            )
        return model

    # -- assigning people -----------------------------------------------------------------------

    def encode(self, rows: Iterable[Sequence[str | None]]) -> npt.NDArray[np.int16]:
        """Turn rows of category labels (``None`` or ``""`` = missing) into codes for this model."""
        lookup = [{label: c for c, label in enumerate(labels)} for labels in self.category_labels]
        out: list[list[int]] = []
        for i, row in enumerate(rows):
            if len(row) != self.n_indicators:
                raise ValueError(f"row {i}: expected {self.n_indicators} values, found {len(row)}")
            codes = []
            for j, value in enumerate(row):
                if value is None or value == "":
                    codes.append(-1)
                elif value in lookup[j]:
                    codes.append(lookup[j][value])
                else:
                    raise ValueError(
                        f"row {i}: {self.indicator_names[j]!r} value {value!r} was not seen at fit time"
                    )
            out.append(codes)
        return np.asarray(out, dtype=np.int16).reshape(len(out), self.n_indicators)

    def posterior(self, X: npt.ArrayLike) -> FloatArray:
        """P(class | indicators) for each row of category codes (``-1`` = missing), shape (n, K)."""
        codes = _check_codes(X, self.n_categories)
        patterns, _, inverse = distinct_patterns(codes)
        onehot_t = _one_hot_t(patterns, _Layout(self.n_categories))
        log_theta = np.log(np.concatenate(self.probabilities, axis=1))
        _, resp = _e_step(onehot_t, log_theta, np.log(self.weights), np.ones(len(patterns)))
        return np.ascontiguousarray(resp.T[inverse])

    def assign(self, X: npt.ArrayLike) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """Most probable class for each row and its posterior probability."""
        post = self.posterior(X)
        cls = np.argmax(post, axis=1)
        return cls, post[np.arange(len(cls)), cls]

    def loglik_of(self, X: npt.ArrayLike, counts: npt.ArrayLike | None = None) -> float:
        """Log-likelihood of rows (or patterns with ``counts``) under this model's parameters."""
        codes = _check_codes(X, self.n_categories)
        w = np.ones(len(codes)) if counts is None else np.asarray(counts, dtype=np.float64)
        onehot_t = _one_hot_t(codes, _Layout(self.n_categories))
        log_theta = np.log(np.concatenate(self.probabilities, axis=1))
        ll, _ = _e_step(onehot_t, log_theta, np.log(self.weights), w)
        return ll


# ----------------------------------------------------------------------------------------------
# EM


def _check_codes(X: npt.ArrayLike, n_categories: Sequence[int]) -> npt.NDArray[Any]:
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[1] != len(n_categories):
        raise ValueError(
            f"expected an (n, {len(n_categories)}) array of category codes, got shape {arr.shape}"
        )
    if arr.dtype.kind not in "iu":
        raise ValueError(f"category codes must be integers, got dtype {arr.dtype}")
    if len(arr):
        too_big = arr.max(axis=0) >= np.asarray(n_categories)
        if too_big.any():
            j = int(np.flatnonzero(too_big)[0])
            raise ValueError(f"indicator {j} has a code >= its number of categories ({n_categories[j]})")
        if int(arr.min()) < -1:
            raise ValueError("category codes must be >= 0, or -1 for missing")
    return arr


class _Layout:
    """Where each indicator's categories sit in the stacked parameter vector."""

    def __init__(self, n_categories: Sequence[int]) -> None:
        self.sizes = np.asarray(n_categories, dtype=np.intp)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)
        self.total = int(self.sizes.sum())

    def block_sum(self, a: FloatArray) -> FloatArray:
        """Sum over each indicator's categories along the last axis, repeated back to full width."""
        summed: FloatArray = np.add.reduceat(a, self.starts, axis=-1)
        return np.repeat(summed, self.sizes, axis=-1)

    def normalise_log(self, log_theta: FloatArray) -> FloatArray:
        """Renormalise log-probabilities so each class's categories of each indicator sum to 1."""
        block_max: FloatArray = np.maximum.reduceat(log_theta, self.starts, axis=-1)
        top = np.repeat(block_max, self.sizes, axis=-1)
        return log_theta - top - np.log(self.block_sum(np.exp(log_theta - top)))


def _one_hot_t(codes: npt.NDArray[Any], layout: _Layout) -> FloatArray:
    """Dense (sum C_j, n) indicator matrix (transposed); a missing value leaves its block zero.

    The class log-likelihoods are then one matrix product, log_theta @ onehot_t, and a missing
    indicator contributes log 1 = 0, which is exactly "skip it" (full-information likelihood).
    Classes run along the first axis so the per-person log-sum-exp over a handful of classes is
    a few element-wise passes over long rows, several times faster than reducing a short axis.
    """
    out = np.zeros((layout.total, codes.shape[0]), dtype=np.float64)
    for j in range(codes.shape[1]):
        col = codes[:, j].astype(np.intp)
        rows = np.flatnonzero(col >= 0)
        out[layout.starts[j] + col[rows], rows] = 1.0
    return out


def _e_step(
    onehot_t: FloatArray, log_theta: FloatArray, log_w: FloatArray, counts: FloatArray
) -> tuple[float, FloatArray]:
    """Return (log-likelihood, posteriors r[k, p]) for parameters log_theta (K, sum C_j), log_w (K,)."""
    joint = log_theta @ onehot_t
    joint += log_w[:, None]
    top = joint.max(axis=0)
    joint -= top
    np.exp(joint, out=joint)
    total = joint.sum(axis=0)
    joint /= total
    log_px = np.log(total)
    log_px += top
    return float(counts @ log_px), joint


@dataclass
class _Run:
    loglik: float
    log_theta: FloatArray
    log_w: FloatArray
    resp: FloatArray
    converged: bool
    iterations: int


class _EM:
    """One EM map for a fixed data set: parameters -> (objective at them, posteriors, updated parameters)."""

    def __init__(self, onehot_t: FloatArray, counts: FloatArray, layout: _Layout, smoothing: float) -> None:
        self.onehot_t, self.counts, self.layout, self.smoothing = onehot_t, counts, layout, smoothing
        self.n_obs = float(counts.sum())

    def __call__(
        self, log_theta: FloatArray, log_w: FloatArray
    ) -> tuple[float, float, FloatArray, FloatArray, FloatArray]:
        a = self.smoothing
        ll, resp = _e_step(self.onehot_t, log_theta, log_w, self.counts)
        # MAP-EM increases the log posterior, not the bare log-likelihood: track that objective.
        objective = ll + a * (float(log_theta.sum()) + float(log_w.sum()))
        weighted = resp * self.counts
        n_k = weighted.sum(axis=1)
        n_kc = (self.onehot_t @ weighted.T).T  # (K, sum C_j) expected counts, observed values only
        sizes = self.layout.sizes
        theta = (n_kc + a) / (self.layout.block_sum(n_kc) + a * np.repeat(sizes, sizes))
        new_w = (n_k + a) / (self.n_obs + a * len(n_k))
        return objective, ll, resp, np.log(theta), np.log(new_w)


def _em(em: _EM, log_theta: FloatArray, log_w: FloatArray, *, max_iter: int, tol: float) -> _Run:
    """EM accelerated by SQUAREM (Varadhan & Roland 2008, Scand. J. Stat. 35:335, scheme S3).

    Plain EM crawls along flat ridges of the likelihood (hundreds of steps for overlapping
    classes). Each cycle takes two EM steps, extrapolates along their direction in log-parameter
    space (renormalised, so probabilities stay valid), then takes one EM step from there. The
    extrapolation is kept only if it does not lower the objective, so the objective at the start
    of each cycle never decreases, as in plain EM; the step length adapts as in the R package
    SQUAREM (the cap grows 4-fold after a success at the cap and shrinks 4-fold after a failure).
    Convergence is judged on a plain EM step: the change in objective per person below ``tol``
    (as StepMix's ``abs_tol``), so the tolerance means the same for 1k and 1M people.
    """
    tol_abs = tol * em.n_obs
    step_max, step_max0, mstep = 1.0, 1.0, 4.0
    layout = em.layout
    evals = 0
    while True:
        obj0, ll0, resp0, lt1, lw1 = em(log_theta, log_w)
        evals += 1
        if evals >= max_iter:
            return _Run(ll0, log_theta, log_w, resp0, False, evals)
        obj1, ll1, resp1, lt2, lw2 = em(lt1, lw1)
        evals += 1
        if abs(obj1 - obj0) <= tol_abs:
            return _Run(ll1, lt1, lw1, resp1, True, evals)
        if evals >= max_iter:
            return _Run(ll1, lt1, lw1, resp1, False, evals)
        p0 = np.concatenate([log_theta.ravel(), log_w])
        p1 = np.concatenate([lt1.ravel(), lw1])
        p2 = np.concatenate([lt2.ravel(), lw2])
        r = p1 - p0
        v = p2 - 2.0 * p1 + p0
        sv = float(v @ v)
        alpha = min(step_max, max(1.0, math.sqrt(float(r @ r) / sv))) if sv > 0 else 1.0
        p_new = p0 + 2.0 * alpha * r + alpha * alpha * v
        n_theta = log_theta.size
        lt_new = layout.normalise_log(np.maximum(p_new[:n_theta].reshape(log_theta.shape), -700.0))
        lw_new = p_new[n_theta:] - np.logaddexp.reduce(p_new[n_theta:])
        obj_x, _, _, lt_x, lw_x = em(lt_new, lw_new)
        evals += 1
        if math.isfinite(obj_x) and obj_x >= obj1:
            log_theta, log_w = lt_x, lw_x
            if alpha == step_max:
                step_max *= mstep
        else:
            log_theta, log_w = lt2, lw2
            if alpha == step_max:
                step_max = max(step_max0, step_max / mstep)


def _random_start(
    rng: np.random.Generator, marginals: FloatArray, layout: _Layout, n_classes: int
) -> tuple[FloatArray, FloatArray]:
    """Class-specific probabilities scattered around the marginals; equal class weights."""
    factors = np.exp(rng.uniform(-_START_SPREAD, _START_SPREAD, size=(n_classes, layout.total)))
    raw = marginals[None, :] * factors
    return np.log(raw / layout.block_sum(raw)), np.full(n_classes, -math.log(n_classes))


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
    smoothing: float = 0.01,
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
    docstring for the smoothing, missing-data and labelling conventions.
    """
    n_cats = [int(c) for c in n_categories]
    codes = _check_codes(patterns, n_cats)
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
    if not smoothing > 0:
        raise ValueError("smoothing must be positive (it keeps probabilities away from zero)")
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

    layout = _Layout(n_cats)
    onehot_t = _one_hot_t(codes, layout)
    # Smoothed marginals, used only to centre the random starts.
    col_counts = onehot_t @ weights
    marginals = (col_counts + 0.5) / (
        layout.block_sum(col_counts) + 0.5 * np.repeat(layout.sizes, layout.sizes)
    )

    em = _EM(onehot_t, weights, layout, smoothing)
    best: _Run | None = None
    start_lls: list[float] = []
    with _single_threaded_blas():
        if initial_iter is None:
            for s in range(n_starts):
                rng = np.random.default_rng([seed, n_classes, s])
                run = _em(em, *_random_start(rng, marginals, layout, n_classes), max_iter=max_iter, tol=tol)
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
                    _em(em, *_random_start(rng, marginals, layout, n_classes), max_iter=initial_iter, tol=tol)
                )
            ranked = sorted(range(n_starts), key=lambda i: -initial[i].loglik)
            for i in ranked[: max(1, final_starts)]:
                run = (
                    initial[i]
                    if initial[i].converged
                    else _em(em, initial[i].log_theta, initial[i].log_w, max_iter=max_iter, tol=tol)
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


def select_classes(
    patterns: npt.ArrayLike,
    counts: npt.ArrayLike,
    n_categories: Sequence[int],
    *,
    k_range: Iterable[int] = range(2, 8),
    n_starts: int = 10,
    seed: int = 0,
    max_iter: int = 1000,
    initial_iter: int | None = None,
    final_starts: int = 2,
    tol: float = 1e-8,
    smoothing: float = 0.01,
    min_class_share: float = 0.0,
    indicator_names: Sequence[str] | None = None,
    category_labels: Sequence[Sequence[str]] | None = None,
) -> tuple[LCAModel, list[dict[str, Any]]]:
    """Fit each K in ``k_range`` and keep the lowest BIC.

    Solutions whose smallest estimated class is below ``min_class_share`` of people are marked
    ineligible (a common rule of thumb is 0.05: a class of a handful of people is rarely a stable
    or useful group, Weller, Bowen & Faubert 2020, J. Black Psychol. 46:287). If no K is eligible
    the lowest BIC overall is returned and its table row says ``eligible: False``.
    Returns the chosen model and one summary row per K.
    """
    fits: list[LCAModel] = []
    table: list[dict[str, Any]] = []
    for k in k_range:
        m = fit_lca(
            patterns,
            counts,
            n_categories,
            k,
            n_starts=n_starts,
            seed=seed,
            max_iter=max_iter,
            initial_iter=initial_iter,
            final_starts=final_starts,
            tol=tol,
            smoothing=smoothing,
            indicator_names=indicator_names,
            category_labels=category_labels,
        )
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


# ----------------------------------------------------------------------------------------------
# CSV for analysts


def _value_order(values: Iterable[str]) -> list[str]:
    """Numbers in numeric order (so "2" < "10"), otherwise text order; deterministic either way."""
    vals = list(values)
    try:
        return sorted(vals, key=lambda v: (float(v), v))
    except ValueError:
        return sorted(vals)


def read_categorical_csv(
    path: str | os.PathLike[str], *, missing_values: Sequence[str] = ("",)
) -> tuple[npt.NDArray[np.int32], list[str], list[list[str]]]:
    """Read a CSV of categorical columns into codes.

    Every column is an indicator; its distinct values (any text, surrounding spaces removed)
    become categories 0..C-1 in numeric-then-text order. Cells in ``missing_values`` (by default
    only empty cells) are missing (-1). Returns ``(codes, column_names, category_labels)``.
    Raises ValueError naming the file, row and column on bad input.
    """
    name = os.fspath(path)
    missing = {m.strip() for m in missing_values}
    try:
        handle = open(name, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ValueError(f"{name}: cannot open ({exc.strerror or exc})") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise ValueError(f"{name}: no columns (the file is empty or has no header row)")
            columns = [h.strip() for h in header]
            for j, col in enumerate(columns):
                if not col:
                    raise ValueError(f"{name}: row 1, column {j + 1} has an empty name")
            dupes = sorted({c for c in columns if columns.count(c) > 1})
            if dupes:
                raise ValueError(f"{name}: row 1 repeats column name(s) {', '.join(dupes)}")
            n_cols = len(columns)
            # Codes by first appearance while streaming (one small int per cell, not one string);
            # remapped to sorted order at the end so codes do not depend on row order.
            seen: list[dict[str, int]] = [{} for _ in columns]
            flat: list[int] = []
            n_rows = 0
            for row in reader:
                if not row:
                    continue  # blank line
                if len(row) != n_cols:
                    raise ValueError(
                        f"{name}: row {reader.line_num} has {len(row)} cells but the header has {n_cols} columns"
                    )
                for j, cell in enumerate(row):
                    v = cell.strip()
                    if v in missing:
                        flat.append(-1)
                    else:
                        flat.append(seen[j].setdefault(v, len(seen[j])))
                n_rows += 1
        except csv.Error as exc:
            raise ValueError(f"{name}: row {reader.line_num}: malformed CSV ({exc})") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    if n_rows == 0:
        raise ValueError(f"{name}: no data rows under the header")
    codes = np.asarray(flat, dtype=np.int32).reshape(n_rows, n_cols)
    labels: list[list[str]] = []
    for j, col in enumerate(columns):
        if not seen[j]:
            raise ValueError(f"{name}: column {col!r} has no values (every cell is missing)")
        ordered = _value_order(seen[j])
        remap = np.full(len(ordered) + 1, -1, dtype=np.int32)  # last slot: -1 stays -1
        for new, v in enumerate(ordered):
            remap[seen[j][v]] = new
        codes[:, j] = remap[codes[:, j]]
        labels.append(ordered)
    return codes, columns, labels


def fit_csv(
    path: str | os.PathLike[str],
    classes: int | Literal["auto"],
    starts: int = 10,
    seed: int = 0,
    *,
    k_range: Iterable[int] = range(1, 8),
    min_class_share: float = 0.0,
    missing_values: Sequence[str] = ("",),
) -> dict[str, Any]:
    """Fit a latent class model to a CSV of categorical columns; return a JSON-ready summary.

    Backs ``careweave lca fit FILE.csv --classes K [--starts N] [--seed S] --json``. With
    ``classes="auto"`` the number of classes is chosen by BIC over ``k_range`` and the summary
    includes the comparison table under ``"selection"``.
    """
    codes, columns, labels = read_categorical_csv(path, missing_values=missing_values)
    patterns, counts, _ = distinct_patterns(codes)
    n_cats = [len(v) for v in labels]
    selection: list[dict[str, Any]] | None = None
    if classes == "auto":
        model, selection = select_classes(
            patterns,
            counts,
            n_cats,
            k_range=k_range,
            n_starts=starts,
            seed=seed,
            min_class_share=min_class_share,
            indicator_names=columns,
            category_labels=labels,
        )
    elif isinstance(classes, int) and not isinstance(classes, bool) and classes >= 1:
        model = fit_lca(
            patterns,
            counts,
            n_cats,
            classes,
            n_starts=starts,
            seed=seed,
            indicator_names=columns,
            category_labels=labels,
        )
    else:
        raise ValueError(f"classes must be a positive whole number or 'auto', got {classes!r}")
    n = model.n_obs
    summary: dict[str, Any] = {
        "file": os.fspath(path),
        "n_rows": int(codes.shape[0]),
        "n_obs": int(round(n)),
        "n_all_missing": int(round(model.n_all_missing)),
        "n_patterns": model.n_patterns,
        "n_classes": model.n_classes,
        "loglik": model.loglik,
        "n_params": model.n_params,
        "bic": model.bic,
        "aic": model.aic,
        "entropy": model.entropy,
        "entropy_measure": model.entropy_measure,
        "class_sizes": list(model.class_sizes_modal),
        "class_sizes_posterior": list(model.class_sizes_posterior),
        "class_proportions": [float(w) for w in model.weights],
        "smallest_class_proportion": model.smallest_class_proportion,
        "converged": model.converged,
        "iterations": model.iterations,
        "starts": starts,
        "seed": seed,
        "model_version": model.version,
        # probabilities[column][value][k] = P(column = value | class k)
        "probabilities": {
            col: {v: [float(p) for p in probs[:, c]] for c, v in enumerate(model.category_labels[j])}
            for j, (col, probs) in enumerate(zip(columns, model.probabilities, strict=True))
        },
    }
    if selection is not None:
        summary["selection"] = selection
    return summary
