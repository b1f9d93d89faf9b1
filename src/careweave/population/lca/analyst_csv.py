"""Latent class analysis for analysts: a CSV of categorical columns in, a JSON-ready summary out
(``careweave lca fit``)."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from careweave.population.lca.fit import fit_lca, select_classes
from careweave.population.lca.patterns import distinct_patterns


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
    smoothing: float = 0.0,
) -> dict[str, Any]:
    """Fit a latent class model to a CSV of categorical columns; return a JSON-ready summary.

    Backs ``careweave lca fit FILE.csv --classes K [--starts N] [--seed S] --json``. With
    ``classes="auto"`` the number of classes is chosen by BIC over ``k_range`` and the summary
    includes the comparison table under ``"selection"``. The fit is maximum likelihood unless
    ``smoothing`` asks for the MAP fit (``--smoothing A``); ``loglik`` is the unpenalised
    log-likelihood either way, comparable with poLCA, Mplus and StepMix.
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
            smoothing=smoothing,
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
            smoothing=smoothing,
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
        "smoothing": smoothing,
        "estimator": "maximum likelihood" if smoothing == 0 else "MAP (Dirichlet pseudo-counts)",
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
