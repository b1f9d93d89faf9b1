"""Pattern compression: rows of category codes collapsed to distinct patterns with counts.

People with the same indicator pattern have identical posteriors, so every EM step runs on the
distinct patterns instead of one row per person.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from careweave.population.lca.em import IntArray


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
