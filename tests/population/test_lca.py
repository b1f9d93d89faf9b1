"""Latent class EM: recovery, pattern/row equivalence, determinism, missing data, BIC, StepMix, CSV."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from careweave.population.lca import (
    LCAModel,
    distinct_patterns,
    fit_csv,
    fit_lca,
    read_categorical_csv,
    select_classes,
)
from tests.population.carcinoma import CARCINOMA, POLCA_CARCINOMA_LOGLIK

# A clear 3-class model: 7 binary indicators and one 3-category indicator.
TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUE_BINARY = np.array(
    [
        [0.10, 0.15, 0.05, 0.20, 0.10, 0.05, 0.30],
        [0.80, 0.70, 0.20, 0.30, 0.10, 0.60, 0.40],
        [0.30, 0.20, 0.85, 0.90, 0.75, 0.10, 0.80],
    ]
)
TRUE_THREE = np.array([[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7]])
N_CATS = [2] * 7 + [3]


def simulate(n: int, seed: int, missing: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.choice(3, size=n, p=TRUE_WEIGHTS)
    binary = (rng.random((n, 7)) < TRUE_BINARY[z]).astype(np.int64)
    three = (rng.random(n)[:, None] > np.cumsum(TRUE_THREE[z], axis=1)).sum(axis=1)
    X = np.column_stack([binary, three])
    if missing:
        X[rng.random(X.shape) < missing] = -1
    return X, z


def match_classes(model: LCAModel) -> tuple[int, ...]:
    """Permutation of fitted classes that best matches the true ones (true class i -> fitted perm[i])."""
    fitted = model.probabilities[0][:, 1]
    best = min(
        itertools.permutations(range(3)),
        key=lambda perm: (
            float(np.abs(fitted[list(perm)] - TRUE_BINARY[:, 0]).sum())
            + float(np.abs(model.probabilities[3][list(perm), 1] - TRUE_BINARY[:, 3]).sum())
        ),
    )
    return best


def assert_recovered(model: LCAModel, tol_w: float = 0.03, tol_p: float = 0.05) -> None:
    perm = list(match_classes(model))
    np.testing.assert_allclose(model.weights[perm], TRUE_WEIGHTS, atol=tol_w)
    for j in range(7):
        np.testing.assert_allclose(model.probabilities[j][perm, 1], TRUE_BINARY[:, j], atol=tol_p)
    np.testing.assert_allclose(model.probabilities[7][perm], TRUE_THREE, atol=tol_p)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return simulate(20_000, seed=11)[0]


@pytest.fixture(scope="module")
def fitted(data: np.ndarray) -> LCAModel:
    patterns, counts, _ = distinct_patterns(data)
    return fit_lca(patterns, counts, N_CATS, 3, n_starts=5, seed=7)


# -- distinct patterns ---------------------------------------------------------------------------


def test_distinct_patterns_round_trip(data: np.ndarray) -> None:
    patterns, counts, inverse = distinct_patterns(data)
    assert counts.sum() == len(data)
    assert len(np.unique(patterns, axis=0)) == len(patterns)
    np.testing.assert_array_equal(patterns[inverse], data)


def test_distinct_patterns_wide_codes_fall_back_to_row_unique() -> None:
    # 30 columns with up to 1000 categories cannot be packed into one int64 key.
    rng = np.random.default_rng(0)
    X = rng.integers(-1, 1000, size=(500, 30))
    X = np.vstack([X, X[:100]])
    patterns, counts, inverse = distinct_patterns(X)
    assert len(patterns) == 500 and counts.sum() == 600
    np.testing.assert_array_equal(patterns[inverse], X)


# -- fitting ----------------------------------------------------------------------------------------


def test_recovers_known_parameters(fitted: LCAModel) -> None:
    assert fitted.converged
    assert_recovered(fitted)
    # canonical order: largest class first
    assert list(fitted.class_sizes_posterior) == sorted(fitted.class_sizes_posterior, reverse=True)
    assert sum(fitted.class_sizes_modal) == 20_000
    assert fitted.n_obs == 20_000
    assert fitted.n_params == 2 + 3 * (7 + 2)
    assert fitted.bic == pytest.approx(-2 * fitted.loglik + fitted.n_params * np.log(20_000))
    assert 0.0 < fitted.entropy < 1.0
    assert fitted.smallest_class_proportion == pytest.approx(min(fitted.class_sizes_posterior) / 20_000)


def test_patterns_give_the_same_fit_as_every_row(data: np.ndarray, fitted: LCAModel) -> None:
    rows = fit_lca(data, np.ones(len(data)), N_CATS, 3, n_starts=5, seed=7)
    assert fitted.n_patterns < len(data) // 10
    # same EM path, so equal up to floating-point summation order
    assert rows.loglik == pytest.approx(fitted.loglik, rel=1e-12)
    np.testing.assert_allclose(rows.weights, fitted.weights, atol=1e-9)
    for a, b in zip(rows.probabilities, fitted.probabilities, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)
    assert rows.iterations == fitted.iterations
    # and the log-likelihood of the pattern fit, evaluated person by person, is the same number
    assert fitted.loglik_of(data) == pytest.approx(fitted.loglik, rel=1e-12)


def test_deterministic_for_a_seed(data: np.ndarray, fitted: LCAModel) -> None:
    patterns, counts, _ = distinct_patterns(data)
    again = fit_lca(patterns, counts, N_CATS, 3, n_starts=5, seed=7)
    assert again.to_json() == fitted.to_json()
    assert again.version == fitted.version
    # row order does not matter either
    shuffled = np.random.default_rng(1).permutation(data)
    p2, c2, _ = distinct_patterns(shuffled)
    assert fit_lca(p2, c2, N_CATS, 3, n_starts=5, seed=7).version == fitted.version


def test_missing_values_full_information() -> None:
    X, _ = simulate(20_000, seed=5, missing=0.2)
    X[:25] = -1  # people with nothing recorded carry no information
    patterns, counts, _ = distinct_patterns(X)
    model = fit_lca(patterns, counts, N_CATS, 3, n_starts=5, seed=1)
    assert model.n_all_missing == 25 and model.n_obs == 20_000 - 25
    assert np.isfinite(model.loglik)
    assert_recovered(model, tol_w=0.04, tol_p=0.06)
    # a person with everything missing is assigned with the class weights as posterior
    np.testing.assert_allclose(model.posterior(np.full((1, 8), -1))[0], model.weights)


def test_store_and_assign_new_people(data: np.ndarray, fitted: LCAModel) -> None:
    restored = LCAModel.from_json(fitted.to_json())
    assert restored.version == fitted.version
    np.testing.assert_array_equal(restored.weights, fitted.weights)
    new = data[:1000]
    cls, prob = restored.assign(new)
    post = fitted.posterior(new)
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    np.testing.assert_array_equal(cls, post.argmax(axis=1))
    np.testing.assert_allclose(prob, post.max(axis=1))
    # posterior by Bayes' rule, computed independently for the first person
    x = new[0]
    lik = fitted.weights * np.prod([fitted.probabilities[j][:, x[j]] for j in range(8)], axis=0)
    np.testing.assert_allclose(post[0], lik / lik.sum(), rtol=1e-10)
    # an altered stored model is refused
    stored = json.loads(fitted.to_json())
    stored["weights"][0] += 0.01
    with pytest.raises(ValueError, match="does not match"):
        LCAModel.from_json(json.dumps(stored))
    with pytest.raises(ValueError, match="code >= its number of categories"):
        fitted.posterior(np.full((1, 8), 5))


def test_bic_selects_the_true_number_of_classes(data: np.ndarray) -> None:
    patterns, counts, _ = distinct_patterns(data)
    best, table = select_classes(patterns, counts, N_CATS, k_range=range(1, 6), n_starts=4, seed=3)
    assert best.n_classes == 3
    assert [row["n_classes"] for row in table] == [1, 2, 3, 4, 5]
    assert [row["chosen"] for row in table] == [False, False, True, False, False]
    for row in table:
        assert {"bic", "entropy", "smallest_class_proportion", "smallest_class_size", "loglik"} <= row.keys()
    # demanding classes of at least 25% rules out K = 3 (smallest true class is 20%)
    best_min, table_min = select_classes(
        patterns, counts, N_CATS, k_range=range(1, 5), n_starts=4, seed=3, min_class_share=0.25
    )
    assert not table_min[2]["eligible"] and table_min[0]["eligible"]
    eligible = [row for row in table_min if row["eligible"]]
    assert best_min.n_classes == min(eligible, key=lambda r: r["bic"])["n_classes"]
    assert best_min.smallest_class_proportion >= 0.25


# -- cross-check against StepMix, fitted on every row ---------------------------------------------


def _stepmix_loglik(X: np.ndarray, measurement: str, n_init: int = 5) -> float:
    with warnings.catch_warnings():
        # StepMix 3.0 compiles with a SyntaxWarning (an escape in a docstring) and sklearn may
        # emit FutureWarnings; neither is ours, and pytest turns warnings into errors.
        warnings.simplefilter("ignore")
        from stepmix.stepmix import StepMix

        model = StepMix(
            n_components=3,
            measurement=measurement,
            n_init=n_init,
            max_iter=1000,
            abs_tol=1e-8,
            random_state=0,
            progress_bar=0,
            verbose=0,
        )
        model.fit(X)
    return float(model.lower_bound_) * len(X)  # lower_bound_ is the mean log-likelihood


def test_stepmix_agrees_binary() -> None:
    X, _ = simulate(10_000, seed=21)
    X = X[:, :7]
    patterns, counts, _ = distinct_patterns(X)
    ours = fit_lca(patterns, counts, [2] * 7, 3, n_starts=5, seed=0)
    theirs = _stepmix_loglik(X, "binary")
    assert abs(ours.loglik - theirs) / len(X) < 1e-3
    assert ours.loglik >= theirs - 1e-4 * len(X)


def test_stepmix_agrees_categorical_with_missing() -> None:
    X, _ = simulate(10_000, seed=22, missing=0.1)
    X = X[(X >= 0).any(axis=1)]
    patterns, counts, _ = distinct_patterns(X)
    ours = fit_lca(patterns, counts, N_CATS, 3, n_starts=5, seed=0)
    theirs = _stepmix_loglik(np.where(X < 0, np.nan, X.astype(float)), "categorical_nan")
    assert abs(ours.loglik - theirs) / len(X) < 1e-3


# -- maximum likelihood by default: poLCA's published carcinoma fits ----------------------------

def carcinoma() -> tuple[np.ndarray, np.ndarray]:
    patterns = np.array([[int(c) for c in key] for key in CARCINOMA], dtype=np.int64)
    return patterns, np.array(list(CARCINOMA.values()), dtype=np.float64)


def test_carcinoma_data_is_the_published_table() -> None:
    patterns, counts = carcinoma()
    # 118 slides in 20 distinct patterns, as poLCA's documentation says.
    assert counts.sum() == 118 and len(set(CARCINOMA)) == len(patterns) == 20


@pytest.mark.parametrize("k", [2, 3, 4])
def test_reproduces_polca_carcinoma_log_likelihoods(k: int) -> None:
    patterns, counts = carcinoma()
    model = fit_lca(patterns, counts, [2] * 7, k, n_starts=10, seed=0)
    assert model.smoothing == 0.0
    assert model.converged
    assert abs(model.loglik - POLCA_CARCINOMA_LOGLIK[k]) < 0.01


def test_smoothing_is_explicit_and_gives_the_map_fit() -> None:
    """The old default (0.01 pseudo-counts) reported -317.31 for poLCA's -317.26: now only on request."""
    patterns, counts = carcinoma()
    ml = fit_lca(patterns, counts, [2] * 7, 2, n_starts=5, seed=0)
    smoothed = fit_lca(patterns, counts, [2] * 7, 2, n_starts=5, seed=0, smoothing=0.01)
    assert smoothed.smoothing == 0.01
    # The MAP fit's unpenalised log-likelihood is below the maximum, by more than the tolerance.
    assert smoothed.loglik < ml.loglik - 0.01
    # The reported log-likelihood is the unpenalised one at the fitted parameters.
    assert smoothed.loglik == pytest.approx(smoothed.loglik_of(patterns, counts), abs=1e-9)
    assert ml.loglik == pytest.approx(ml.loglik_of(patterns, counts), abs=1e-9)
    with pytest.raises(ValueError, match="smoothing"):
        fit_lca(patterns, counts, [2] * 7, 2, smoothing=-0.1)


def test_ml_zero_probabilities_keep_posteriors_finite() -> None:
    """ML puts some carcinoma probabilities at 0 or 1; every pattern, seen or not, still gets a posterior."""
    patterns, counts = carcinoma()
    model = fit_lca(patterns, counts, [2] * 7, 3, n_starts=10, seed=0)
    assert min(float(p.min()) for p in model.probabilities) < 1e-6  # a boundary estimate
    every = np.array(list(itertools.product([0, 1], repeat=7)), dtype=np.int64)
    posterior = model.posterior(every)
    assert np.isfinite(posterior).all()
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0)


def test_stepmix_agrees_on_carcinoma_at_ml() -> None:
    patterns, counts = carcinoma()
    rows = np.repeat(patterns, counts.astype(np.int64), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stepmix.stepmix import StepMix

        theirs = StepMix(
            n_components=2, measurement="binary", n_init=3, max_iter=2000, abs_tol=1e-9,
            random_state=0, progress_bar=0, verbose=0,
        )  # fmt: skip
        theirs.fit(rows)
    ours = fit_lca(patterns, counts, [2] * 7, 2, n_starts=10, seed=0)
    assert abs(ours.loglik - float(theirs.lower_bound_) * len(rows)) < 0.01


# -- CSV for analysts -------------------------------------------------------------------------------


def write_csv(path: Path, X: np.ndarray) -> None:
    smoke = {0: "never", 1: "ex", 2: "current"}
    lines = ["frail,housebound , lives_alone,diabetes,sight,smoking"]
    for row in X:
        cells = [
            "" if row[0] < 0 else ("yes" if row[0] else "no"),
            "" if row[1] < 0 else ("Y" if row[1] else "N"),
            "" if row[2] < 0 else str(row[2] * 10 + 2),  # numbers 2 and 12: numeric order
            "" if row[3] < 0 else ("TRUE" if row[3] else "FALSE"),
            "" if row[4] < 0 else (" poor " if row[4] else "good"),
            "" if row[7] < 0 else smoke[int(row[7])],
        ]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_fit_csv_with_strings_and_blanks(tmp_path: Path) -> None:
    X, _ = simulate(3_000, seed=9, missing=0.05)
    path = tmp_path / "people.csv"
    write_csv(path, X)
    summary = fit_csv(path, classes=3, starts=3, seed=2)
    json.dumps(summary)  # JSON-ready
    assert summary["n_rows"] == 3_000
    assert summary["n_obs"] + summary["n_all_missing"] == 3_000
    assert summary["n_classes"] == 3
    assert sum(summary["class_sizes"]) == summary["n_obs"]
    assert sum(summary["class_proportions"]) == pytest.approx(1.0)
    probs = summary["probabilities"]
    assert list(probs) == ["frail", "housebound", "lives_alone", "diabetes", "sight", "smoking"]
    assert list(probs["lives_alone"]) == ["2", "12"]  # numeric order, not text order
    assert list(probs["sight"]) == ["good", "poor"]  # spaces trimmed
    assert list(probs["smoking"]) == ["current", "ex", "never"]
    for values in probs.values():
        np.testing.assert_allclose(np.sum(list(values.values()), axis=0), 1.0)
    for key in ("loglik", "bic", "aic", "entropy", "n_patterns"):
        assert key in summary
    # the same data as codes gives the same log-likelihood
    codes, columns, labels = read_categorical_csv(path)
    patterns, counts, _ = distinct_patterns(codes)
    direct = fit_lca(patterns, counts, [len(v) for v in labels], 3, n_starts=3, seed=2)
    assert direct.loglik == pytest.approx(summary["loglik"], rel=1e-12)
    auto = fit_csv(path, classes="auto", starts=2, seed=0, k_range=range(1, 4))
    assert [row["n_classes"] for row in auto["selection"]] == [1, 2, 3]
    assert auto["n_classes"] == min(auto["selection"], key=lambda r: r["bic"])["n_classes"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"no columns"),
        ("a,b\n", r"no data rows"),
        ("a,b\n1,2\n1,2,3\n", r"bad\.csv: row 3 has 3 cells but the header has 2 columns"),
        ("a,,c\n1,2,3\n", r"row 1, column 2 has an empty name"),
        ("a,a\n1,2\n", r"repeats column name\(s\) a"),
        ("a,b\n1,\n2,\n", r"column 'b' has no values"),
    ],
)
def test_fit_csv_bad_input(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        fit_csv(path, classes=2)


def test_fit_csv_missing_file_and_bad_classes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.csv: cannot open"):
        fit_csv(tmp_path / "nope.csv", classes=2)
    path = tmp_path / "ok.csv"
    path.write_text("a,b\nx,1\ny,1\nx,1\n", encoding="utf-8")  # a column with one value is fine
    assert fit_csv(path, classes=1)["probabilities"]["b"] == {"1": [1.0]}
    with pytest.raises(ValueError, match="classes must be"):
        fit_csv(path, classes=0)
