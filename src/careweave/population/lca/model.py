"""The fitted latent class model: its parameters and fit statistics, storage as JSON with a content
hash, and assigning people (encode labels, posteriors, most probable class)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from careweave.population.lca.em import FloatArray, Layout, check_codes, e_step, floored_log, one_hot_t
from careweave.population.lca.patterns import distinct_patterns

MODEL_FORMAT = "careweave-lca/1"


def _floats(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


#: How each stored field is read back from JSON, in the fields' order.
_READERS: dict[str, Callable[[Any], Any]] = {
    "n_classes": int,
    "weights": _floats,
    "probabilities": lambda v: tuple(_floats(p) for p in v),
    "indicator_names": tuple,
    "category_labels": lambda v: tuple(tuple(c) for c in v),
    "loglik": float,
    "n_params": int,
    "bic": float,
    "aic": float,
    "entropy": float,
    "class_sizes_modal": lambda v: tuple(int(s) for s in v),
    "class_sizes_posterior": lambda v: tuple(float(s) for s in v),
    "smallest_class_proportion": float,
    "n_obs": float,
    "n_patterns": int,
    "n_all_missing": float,
    "converged": bool,
    "iterations": int,
    "n_starts": int,
    "seed": int,
    "smoothing": float,
    "start_logliks": lambda v: tuple(float(x) for x in v),
    "version": str,
}
#: The stored JSON's keys in order: the fields, with the format first and a note on the entropy.
_JSON_ORDER = (
    "format", "version", "n_classes", "indicator_names", "category_labels", "weights", "probabilities",
    "loglik", "n_params", "bic", "aic", "entropy", "entropy_measure", "class_sizes_modal",
    "class_sizes_posterior", "smallest_class_proportion", "n_obs", "n_patterns", "n_all_missing",
    "converged", "iterations", "n_starts", "seed", "smoothing", "start_logliks",
)  # fmt: skip


def _plain(value: Any) -> Any:
    """A field as JSON: arrays and tuples as lists (of plain floats), scalars as they are."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


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
        values = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        values.update(format=MODEL_FORMAT, entropy_measure=self.entropy_measure)
        return {name: values[name] for name in _JSON_ORDER}

    def to_json(self) -> str:
        # Python's float repr round-trips exactly, so from_json(to_json(m)) has identical numbers.
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> LCAModel:
        try:
            d = json.loads(text)
            if d.get("format") != MODEL_FORMAT:
                raise ValueError(f"unsupported model format {d.get('format')!r}, expected {MODEL_FORMAT!r}")
            model = cls(**{name: read(d[name]) for name, read in _READERS.items()})
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
        codes = check_codes(X, self.n_categories)
        patterns, _, inverse = distinct_patterns(codes)
        onehot_t = one_hot_t(patterns, Layout(self.n_categories))
        log_theta = floored_log(np.concatenate(self.probabilities, axis=1))
        _, resp = e_step(onehot_t, log_theta, floored_log(self.weights), np.ones(len(patterns)))
        return np.ascontiguousarray(resp.T[inverse])

    def assign(self, X: npt.ArrayLike) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """Most probable class for each row and its posterior probability."""
        post = self.posterior(X)
        cls = np.argmax(post, axis=1)
        return cls, post[np.arange(len(cls)), cls]

    def loglik_of(self, X: npt.ArrayLike, counts: npt.ArrayLike | None = None) -> float:
        """Log-likelihood of rows (or patterns with ``counts``) under this model's parameters."""
        codes = check_codes(X, self.n_categories)
        w = np.ones(len(codes)) if counts is None else np.asarray(counts, dtype=np.float64)
        onehot_t = one_hot_t(codes, Layout(self.n_categories))
        log_theta = floored_log(np.concatenate(self.probabilities, axis=1))
        ll, _ = e_step(onehot_t, log_theta, floored_log(self.weights), w)
        return ll
