"""Chapter 7 on moons: voting, bagging with OOB evaluation and stacking, via mlpilot's builders.

The book's settings: ``make_moons(n_samples=500, noise=0.30, random_state=42)``, default
``train_test_split(random_state=42)`` (375 train / 125 test rows, so one test row is 0.008 of
accuracy), members ``LogisticRegression``, ``RandomForestClassifier`` and ``SVC``, all with
``random_state=42``. Every figure is checked to the row (tolerance 0.001).
"""

from __future__ import annotations

import warnings

from sklearn.base import BaseEstimator
from sklearn.datasets import make_moons
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.search.ensemble import (
    build_bagging,
    build_stacking,
    build_voting,
    ensemble_candidates,
    oof_predict,
    weighted_ensemble,
)
from mlpilot.search.shortlist import make_cv

SEED = 42
ACC = 0.001  # well under one test row (1/125 = 0.008): the counts must match exactly


def _members(svc_probability: bool) -> list[tuple[str, BaseEstimator]]:
    svc = SVC(probability=True, random_state=SEED) if svc_probability else SVC(random_state=SEED)
    return [("lr", LogisticRegression(random_state=SEED)),
            ("rf", RandomForestClassifier(random_state=SEED)),
            ("svc", svc)]


def run() -> RecipeResult:
    X, y = make_moons(n_samples=500, noise=0.30, random_state=SEED)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=SEED)
    out: list[Comparison] = []
    notes = [f"moons: {len(X_train)} training / {len(X_test)} test rows"]

    def acc(quantity: str, book: float, model: BaseEstimator) -> None:
        out.append(Comparison(quantity, book, float(model.score(X_test, y_test)), ACC, "{:.3f}"))

    # Voting: the book's default is hard voting.
    hard = build_voting(_members(False), "binary", voting="hard").fit(X_train, y_train)
    for name, book in (("lr", 0.864), ("rf", 0.896), ("svc", 0.896)):
        acc(f"test accuracy, {name} alone", book, hard.named_estimators_[name])
    acc("hard voting: test accuracy", 0.912, hard)

    # Soft voting, the book's way: SVC(probability=True), deprecated since scikit-learn 1.9.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*probability.*")
        soft_book = build_voting(_members(True), "binary", voting="soft").fit(X_train, y_train)
        stack_book = build_stacking(
            _members(True), "binary", cv=5,
            final_estimator=RandomForestClassifier(random_state=SEED + 1)).fit(X_train, y_train)
    acc("soft voting, SVC(probability=True) (book code)", 0.92, soft_book)
    # mlpilot's way: the builder calibrates SVC with CalibratedClassifierCV(ensemble=False).
    soft = build_voting(_members(False), "binary", voting="soft").fit(X_train, y_train)
    acc("soft voting, calibrated SVC (mlpilot builder)", 0.92, soft)

    # Bagging 500 unpruned trees, bootstrap, OOB evaluation.
    bag = build_bagging(DecisionTreeClassifier(), "binary", n_estimators=500, seed=SEED,
                        n_jobs=1).fit(X_train, y_train)
    out.append(Comparison("bagging 500 trees: oob_score_", 0.896, float(bag.oob_score_), ACC,
                          "{:.3f}"))
    acc("bagging 500 trees: test accuracy", 0.92, bag)
    out.append(Comparison("bagging: oob_decision_function_[0, 1]", 0.67647059,
                          float(bag.oob_decision_function_[0, 1]), 5e-8, "{:.8f}"))

    # Stacking with a random-forest blender on 5-fold out-of-fold probabilities.
    acc("stacking, SVC(probability=True) (book code)", 0.928, stack_book)
    stack = build_stacking(_members(False), "binary", cv=5,
                           final_estimator=RandomForestClassifier(random_state=SEED + 1))
    acc("stacking, calibrated SVC (mlpilot builder)", 0.928, stack.fit(X_train, y_train))

    # Extra, no book figure: greedy ensemble selection on the members' 5-fold OOF probabilities.
    members = dict(build_voting(_members(False), "binary", voting="soft").estimators)
    cv = make_cv("binary", 5, SEED)
    oof = {name: oof_predict(est, X_train, y_train, "binary", cv) for name, est in members.items()}
    for metric in ("accuracy", "log_loss"):
        choice = ensemble_candidates(oof, y_train, metric, "binary")
        greedy = weighted_ensemble(members, choice.weights, "binary").fit(X_train, y_train)
        weights = ", ".join(f"{n} {w:.2f}" for n, w in choice.members.items())
        notes.append(
            f"extra (no book figure): greedy ensemble selection on 5-fold OOF {metric} picks "
            f"{weights}: OOF {metric} {choice.oof_score:.4f} vs {choice.best_single_score:.4f} "
            f"for {choice.best_single_name} alone, test accuracy "
            f"{greedy.score(X_test, y_test):.3f}; kept={choice.kept} ({choice.reason})")
    notes.append("the book ran scikit-learn ~1.2-1.3; every figure matches with "
                 "scikit-learn 1.9, where SVC(probability=True) is deprecated: the builders "
                 "calibrate SVC with CalibratedClassifierCV(ensemble=False) instead and get "
                 "the same accuracies")
    return RecipeResult("ch07-ensembles", out, notes)


RECIPE = Recipe("ch07-ensembles", 7,
                "Moons: hard/soft voting, bagging with OOB score, stacking (ch. 7)", run)
