"""The EM core: data layout, the E-step, one EM (ML or MAP) map, SQUAREM acceleration and random starts.

Works on category codes (``-1`` = missing) already collapsed to distinct patterns with counts; knows
nothing of models, storage or files. See :mod:`careweave.population.lca` for the method.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Spread of the random starting values around the observed marginals, on the log-odds scale:
# factors between e^-1.5 and e^1.5 per category, i.e. a 2% condition starts between ~0.5% and ~9%
# in each class. Wide enough for starts to reach different optima, narrow enough that rare
# indicators do not start at an implausible 50%.
_START_SPREAD = 1.5

#: The log of a probability that maximum likelihood put at exactly zero. A true log(0) = -inf would
#: turn the E-step's matrix product into NaN (-inf * 0 for an indicator a person does not have);
#: exp(-700) ~ 1e-304 is zero for every sum the fit makes but keeps the arithmetic finite.
LOG_FLOOR = -700.0


def floored_log(p: npt.ArrayLike) -> FloatArray:
    """log(p) with zeros (and anything below exp(LOG_FLOOR)) at :data:`LOG_FLOOR`."""
    with np.errstate(divide="ignore"):
        out: FloatArray = np.maximum(np.log(np.asarray(p, dtype=np.float64)), LOG_FLOOR)
    return out


def single_threaded_blas() -> contextlib.AbstractContextManager[object]:
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


def check_codes(X: npt.ArrayLike, n_categories: Sequence[int]) -> npt.NDArray[Any]:
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


class Layout:
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


def one_hot_t(codes: npt.NDArray[Any], layout: Layout) -> FloatArray:
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


def e_step(
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
class Run:
    loglik: float
    log_theta: FloatArray
    log_w: FloatArray
    resp: FloatArray
    converged: bool
    iterations: int


class EMMap:
    """One EM map for a fixed data set: parameters -> (objective at them, posteriors, updated parameters).

    ``smoothing`` 0 is plain EM for the maximum-likelihood fit (poLCA, Mplus and StepMix by default);
    a positive value adds that many pseudo-counts to every category and class (MAP-EM).
    """

    def __init__(self, onehot_t: FloatArray, counts: FloatArray, layout: Layout, smoothing: float) -> None:
        self.onehot_t, self.counts, self.layout, self.smoothing = onehot_t, counts, layout, smoothing
        self.n_obs = float(counts.sum())

    def __call__(
        self, log_theta: FloatArray, log_w: FloatArray
    ) -> tuple[float, float, FloatArray, FloatArray, FloatArray]:
        a = self.smoothing
        ll, resp = e_step(self.onehot_t, log_theta, log_w, self.counts)
        # MAP-EM increases the log posterior, not the bare log-likelihood: track that objective
        # (with a = 0 it is the log-likelihood itself).
        objective = ll + a * (float(log_theta.sum()) + float(log_w.sum())) if a else ll
        weighted = resp * self.counts
        n_k = weighted.sum(axis=1)
        n_kc = (self.onehot_t @ weighted.T).T  # (K, sum C_j) expected counts, observed values only
        sizes = self.layout.sizes
        denominator = self.layout.block_sum(n_kc) + a * np.repeat(sizes, sizes)
        # Under ML a class can lose every person (or every observed value of an indicator): its
        # probabilities are then undetermined, and uniform is the neutral choice (0/0 would be NaN).
        empty = denominator <= 0
        theta = np.where(empty, 1.0 / np.repeat(sizes, sizes), (n_kc + a) / np.where(empty, 1.0, denominator))
        new_w = (n_k + a) / (self.n_obs + a * len(n_k))
        return objective, ll, resp, floored_log(theta), floored_log(new_w)


def squarem(em: EMMap, log_theta: FloatArray, log_w: FloatArray, *, max_iter: int, tol: float) -> Run:
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
            return Run(ll0, log_theta, log_w, resp0, False, evals)
        obj1, ll1, resp1, lt2, lw2 = em(lt1, lw1)
        evals += 1
        if abs(obj1 - obj0) <= tol_abs:
            return Run(ll1, lt1, lw1, resp1, True, evals)
        if evals >= max_iter:
            return Run(ll1, lt1, lw1, resp1, False, evals)
        p0 = np.concatenate([log_theta.ravel(), log_w])
        p1 = np.concatenate([lt1.ravel(), lw1])
        p2 = np.concatenate([lt2.ravel(), lw2])
        r = p1 - p0
        v = p2 - 2.0 * p1 + p0
        sv = float(v @ v)
        alpha = min(step_max, max(1.0, math.sqrt(float(r @ r) / sv))) if sv > 0 else 1.0
        p_new = p0 + 2.0 * alpha * r + alpha * alpha * v
        n_theta = log_theta.size
        lt_new = layout.normalise_log(np.maximum(p_new[:n_theta].reshape(log_theta.shape), LOG_FLOOR))
        lw_new = np.maximum(p_new[n_theta:] - np.logaddexp.reduce(p_new[n_theta:]), LOG_FLOOR)
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


def random_start(
    rng: np.random.Generator, marginals: FloatArray, layout: Layout, n_classes: int
) -> tuple[FloatArray, FloatArray]:
    """Class-specific probabilities scattered around the marginals; equal class weights."""
    factors = np.exp(rng.uniform(-_START_SPREAD, _START_SPREAD, size=(n_classes, layout.total)))
    raw = marginals[None, :] * factors
    return np.log(raw / layout.block_sum(raw)), np.full(n_classes, -math.log(n_classes))
