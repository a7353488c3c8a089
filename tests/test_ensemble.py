"""Ensembles (ch. 7): greedy selection on OOF predictions, weighted ensembles, builders, recipe."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlpilot.evaluate.metrics import METRICS
from mlpilot.search.ensemble import (
    WeightedEnsembleClassifier,
    WeightedEnsembleRegressor,
    build_bagging,
    build_stacking,
    build_voting,
    ensemble_candidates,
    greedy_ensemble_selection,
    oof_predict,
    score_predictions,
    weighted_ensemble,
)
from mlpilot.search.shortlist import make_cv

RNG = np.random.default_rng(0)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _noisy_proba(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A model whose logits are the true class (+1) plus its own independent noise."""
    logits = np.eye(k)[y] * 1.0 + rng.normal(0, 1.0, (len(y), k))
    return _softmax(logits)


def _family(task: str, n: int = 1500, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Targets and three OOF arrays: two good models with independent errors, one useless."""
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = rng.normal(0, 3, n)
        return y, {"a": y + rng.normal(0, 1, n), "b": y + rng.normal(0, 1, n),
                   "junk": rng.normal(0, 3, n)}
    k = 2 if task == "binary" else 3
    y = rng.integers(0, k, n)
    junk = _softmax(rng.normal(0, 1, (n, k)))
    return y, {"a": _noisy_proba(y, k, rng), "b": _noisy_proba(y, k, rng), "junk": junk}


CASES = [("regression", m) for m in ("rmse", "mae", "r2")] + [
    ("binary", m) for m in ("roc_auc", "log_loss", "accuracy", "f1", "balanced_accuracy")
] + [("multiclass", m) for m in ("accuracy", "log_loss", "roc_auc_ovr", "f1_macro", "f1_micro")]


@pytest.mark.parametrize(("task", "metric"), CASES)
def test_greedy_beats_each_model_with_independent_errors(task: str, metric: str) -> None:
    y, oof = _family(task)
    m = METRICS[metric]
    weights = greedy_ensemble_selection(oof, y, m, task)
    assert set(weights) == {"a", "b", "junk"}
    assert sum(weights.values()) == pytest.approx(1.0)
    singles = {n: score_predictions(m, y, p, task) for n, p in oof.items()}
    ens = score_predictions(m, y, sum(w * oof[n] for n, w in weights.items()), task)
    assert all(m.better(ens, s) for s in singles.values())
    assert weights["a"] > 0 and weights["b"] > 0
    assert weights["junk"] <= 0.1  # a useless model earns (almost always exactly) nothing


def test_independent_errors_give_equal_weights_and_useless_model_zero() -> None:
    y, oof = _family("regression", n=3000)
    weights = greedy_ensemble_selection(oof, y, "rmse", "regression")
    assert weights == {"a": 0.5, "b": 0.5, "junk": 0.0}
    choice = ensemble_candidates(oof, y, "rmse", "regression")
    assert choice.kept and choice.win_rate == 1.0
    assert choice.oof_score < choice.best_single_score
    assert choice.members == {"a": 0.5, "b": 0.5}


def test_identical_models_select_the_best_alone_and_are_not_kept() -> None:
    y, oof = _family("binary")
    same = {"first": oof["a"], "copy": oof["a"].copy(), "worse": oof["junk"]}
    assert greedy_ensemble_selection(same, y, "log_loss", "binary") == {
        "first": 1.0, "copy": 0.0, "worse": 0.0}
    choice = ensemble_candidates(same, y, "log_loss", "binary")
    assert not choice.kept and choice.best_single_name == "first"
    assert "no model improves" in choice.reason


def test_a_gain_within_noise_is_not_kept() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, 60)
    base = y + rng.normal(0, 1, 60)
    nudged = base + 0.01 * (y - base) + rng.normal(0, 0.05, 60)  # nearly the same errors
    choice = ensemble_candidates({"base": base, "nudged": nudged}, y, "rmse", "regression")
    assert not choice.kept
    assert choice.oof_score <= choice.best_single_score


def test_missing_oof_and_top_k_and_string_classes() -> None:
    y, oof = _family("binary", n=400)
    labels = np.array(["no", "yes"])[y]
    with_none = {"a": oof["a"], "svm": None, "b": oof["b"], "junk": oof["junk"]}
    weights = greedy_ensemble_selection(with_none, labels, "accuracy", "binary",
                                        classes=["no", "yes"])
    assert weights["svm"] == 0.0 and sum(weights.values()) == pytest.approx(1.0)
    choice = ensemble_candidates(with_none, labels, "roc_auc", "binary", top_k=1)
    assert not choice.kept and choice.members == {"a": 1.0}
    # A binary OOF may be the positive-class column alone.
    assert score_predictions("roc_auc", labels, oof["a"][:, 1], "binary") == pytest.approx(
        score_predictions("roc_auc", labels, oof["a"], "binary"))
    with pytest.raises(ValueError, match="missing from classes"):
        score_predictions("accuracy", labels, oof["a"], "binary", classes=["a", "b"])


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_score_predictions_agrees_with_the_metric_scorer(task: str) -> None:
    if task == "regression":
        X, y = make_regression(n_samples=120, n_features=4, noise=10, random_state=0)
        model = Ridge().fit(X, y)
        pred = model.predict(X)
    else:
        X, y = make_classification(n_samples=150, n_features=5, n_informative=3,
                                   n_classes=2 if task == "binary" else 3, random_state=0)
        model = LogisticRegression().fit(X, y)
        pred = model.predict_proba(X)
    for metric in (m for m in METRICS.values() if task in m.tasks):
        assert score_predictions(metric, y, pred, task) == pytest.approx(
            metric.score(model, X, y)), metric.name


@parametrize_with_checks([
    WeightedEnsembleRegressor([("ridge", Ridge()), ("tree", DecisionTreeRegressor(random_state=0))],
                              [0.7, 0.3]),
    WeightedEnsembleClassifier([("lr", LogisticRegression()),
                                ("tree", DecisionTreeClassifier(random_state=0))], [0.5, 0.5]),
])
def test_weighted_ensembles_are_sklearn_estimators(estimator, check) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def _frame(task: str, n: int = 120) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "city": rng.choice(["a", "b", "c"], n)})
    signal = X["x1"] + 0.5 * X["x2"] + (X["city"] == "a")
    if task == "regression":
        return X, pd.Series(signal + rng.normal(0, 0.3, n), name="target")
    if task == "binary":
        return X, pd.Series(np.where(signal > 0.3, "yes", "no"), name="target")
    return X, pd.Series(np.digitize(signal, [-0.3, 0.8]).astype(str), name="target")


def _pipe(model: object) -> Pipeline:
    prep = ColumnTransformer([("num", StandardScaler(), ["x1", "x2"]),
                              ("cat", OneHotEncoder(), ["city"])])
    return Pipeline([("preprocess", prep), ("model", model)])


def test_weighted_ensemble_on_pandas_pipelines_end_to_end() -> None:
    X, y = _frame("multiclass")
    pipes = {"lr": _pipe(LogisticRegression()),
             "tree": _pipe(DecisionTreeClassifier(max_depth=3, random_state=0)),
             "svc": _pipe(SVC())}  # no predict_proba: no OOF, only hard votes
    cv = make_cv("multiclass", 3, 0)
    oof = {n: oof_predict(p, X, y, "multiclass", cv) for n, p in pipes.items()}
    assert oof["svc"] is None and oof["lr"].shape == (len(X), 3)
    choice = ensemble_candidates(oof, y, "log_loss", "multiclass", n_boot=50)
    model = weighted_ensemble(pipes, choice.weights, "multiclass").fit(X, y)
    assert [n for n, _ in model.estimators] == list(choice.members)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1)
    assert set(model.predict(X)) <= set(y) and list(model.classes_) == sorted(set(y))
    assert list(model.feature_names_in_) == ["x1", "x2", "city"]
    # A member without predict_proba votes one-hot.
    hard = WeightedEnsembleClassifier([("svc", pipes["svc"]), ("lr", pipes["lr"])], [3, 1])
    assert (hard.fit(X, y).predict(X) == pipes["svc"].fit(X, y).predict(X)).all()


def test_weighted_ensemble_rejects_bad_weights() -> None:
    X, y = _frame("regression")
    with pytest.raises(ValueError, match="2 weights for 1"):
        WeightedEnsembleRegressor([("r", _pipe(Ridge()))], [1, 1]).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedEnsembleRegressor([("r", _pipe(Ridge()))], [-1]).fit(X, y)


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_builders_fit_and_predict(task: str) -> None:
    X, y = _frame(task)
    if task == "regression":
        members = [("lin", _pipe(LinearRegression())), ("svr", _pipe(SVR()))]
        base = DecisionTreeRegressor(random_state=0)
    else:
        # SVC has no predict_proba: soft voting and stacking calibrate it (binary only: slow).
        other = (SVC(random_state=0) if task == "binary"
                 else DecisionTreeClassifier(max_depth=3, random_state=0))
        members = [("lr", _pipe(LogisticRegression())), ("other", _pipe(other))]
        base = DecisionTreeClassifier(random_state=0)
    votings = ["soft"] if task == "regression" else ["soft", "hard"]
    models = [build_voting(members, task, voting=v) for v in votings]
    models.append(build_stacking(members, task, cv=3, seed=0))
    for model in models:
        pred = model.fit(X, y).predict(X)
        assert len(pred) == len(X)
        if task != "regression":
            assert set(pred) <= set(y)
    # A pipeline is bagged at its model step, so pandas column selection keeps working.
    bag = build_bagging(_pipe(base), task, n_estimators=30, max_samples=0.8, seed=0).fit(X, y)
    assert isinstance(bag, Pipeline) and bag[0].n_features_in_ == 3
    assert -1 < bag[-1].oob_score_ <= 1 and len(bag.predict(X)) == len(X)
    Xn = X[["x1", "x2"]].to_numpy()
    pasting = build_bagging(base, task, n_estimators=5, max_samples=0.5, bootstrap=False)
    assert not pasting.fit(Xn, y).oob_score and not hasattr(pasting, "oob_score_")
    plain = build_bagging(base, task, n_estimators=30, seed=0).fit(Xn, y)
    assert plain.oob_score and -1 < plain.oob_score_ <= 1


def test_builders_reject_hard_voting_for_regression_and_unknown_tasks() -> None:
    with pytest.raises(ValueError, match="hard voting"):
        build_voting([("r", Ridge())], "regression", voting="hard")
    with pytest.raises(ValueError, match="tasks"):
        build_stacking([("r", Ridge())], "multilabel")


def test_ch07_recipe_reproduces_the_book() -> None:
    from mlpilot.recipes.ch07_ensembles import RECIPE

    result = RECIPE.run()
    failures = [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
    assert not failures
    assert len(result.comparisons) == 11
    assert any("greedy ensemble selection" in note for note in result.notes)
