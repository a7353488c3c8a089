"""The model zoo: every candidate family, and the default shortlist for a task and a table size.

Each :class:`Candidate` knows how to build its estimator for a task, which preprocessing variant
it wants, what it costs and which hyperparameters a search may tune. The families live one per
module (:mod:`~mlpilot.models.baseline`, :mod:`~mlpilot.models.linear`, ...); this module
collects them. Families are imported lazily, and the LightGBM / XGBoost libraries only when a
model is built, so ``import mlpilot`` stays fast and a missing optional library only makes its
candidate unavailable.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sklearn.base import BaseEstimator
from sklearn.multioutput import MultiOutputClassifier

from mlpilot.errors import ConfigError
from mlpilot.models.space import Space

ALL_TASKS = frozenset({"regression", "binary", "multiclass", "multilabel"})
CLASSIFICATION = frozenset({"binary", "multiclass", "multilabel"})
REGRESSION = frozenset({"regression"})

#: Up to this many rows a kernel's m² cost is nothing (an SVM fits 2,000 rows in a tenth of
#: a second), so candidates with a ``small_cost`` use it to run earlier.
SMALL_TABLE_ROWS = 2_000

#: The family modules, in the order their candidates are listed.
FAMILY_MODULES = ("baseline", "linear", "bayes", "neighbors", "svm", "trees", "boosting",
                  "neural")

#: The candidates of the spine's first version (kept for compatibility).
BASELINE_NAMES = ("dummy", "linear", "hist_gradient_boosting", "random_forest")


@dataclass(frozen=True)
class Candidate:
    name: str
    family: str
    cost: int  # relative cost rank: cheap models run first
    build: Callable[[str, int], BaseEstimator]  # (task, seed) -> unfitted estimator
    prep: str = "scaled"  # preprocessing variant: "scaled" or "tree" (no scaling needed)
    space: Space = field(default_factory=dict)  # tunable hyperparameters of the model
    tasks: frozenset[str] = ALL_TASKS  # tasks the family can do
    # --- added by the model zoo (all optional) ---
    #: Entries only valid for some tasks (``epsilon`` of an SVR, ``C`` of a logistic
    #: regression); :meth:`space_for` merges them over ``space``.
    task_spaces: Mapping[str, Space] = field(default_factory=dict)
    default: bool = True  # part of the default shortlist (else only when asked by name)
    row_limit: int | None = None  # left out of the default shortlist above this many rows
    feature_limit: int | None = None  # ... or above this many features (after preparation)
    requires: str | None = None  # optional library the family needs ("lightgbm")
    summary: str = ""  # one line for listings and reports
    #: Known-good settings (``space`` names) that tuning tries right after the defaults, a
    #: small zero-shot portfolio as FLAML and AutoGluon keep: slower learning with more
    #: trees wins on most tables, and a short budget should not wait for TPE to find it.
    portfolio: tuple[Mapping[str, object], ...] = ()
    #: The hyperparameter a validation curve sweeps (the one the book tunes for the family):
    #: a key of ``space_for(task)``, or its last ``__`` part when the key differs by task
    #: (``C`` is ``regressor__C`` on an SVR learning a scaled target). None: nothing to sweep.
    key_param: str | None = None
    #: Cost rank on tables of at most SMALL_TABLE_ROWS rows, when it differs from ``cost``:
    #: a kernel SVM is among the slowest on housing and among the quickest on wine.
    small_cost: int | None = None
    #: Whether the fitted model changes with its seed (row/column sampling, random initial
    #: weights): the final refit may then average a few seeds (``search/seeds.py``).
    seed_varies: bool = False
    #: Whether the search keeps each fold's fitted model for the final fold bag
    #: (``search/bagging.py``). A Keras model pickles through its saving format, ~2 s a
    #: fold: on a small table more than its whole cross-validation.
    keeps_fold_models: bool = True
    #: How a fit's time grows with the training rows (time ~ rows ** growth), so that the
    #: shortlist can foresee what the next, larger halving rung will cost. Histogram
    #: boosting bins the rows once and is then nearly flat (housing, 5 folds on 2 cores:
    #: LightGBM 1.7 / 2.3 / 4.0 s at 1,835 / 5,504 / 16,512 rows, growth ~0.4); a forest
    #: grows full trees (6.7 / 25 / 96 s, ~1.2); a kernel SVM is quadratic or worse.
    growth: float = 1.0

    def rank(self, n_rows: int) -> int:
        """Where the candidate runs in a shortlist of a table with ``n_rows`` rows."""
        if self.small_cost is not None and n_rows <= SMALL_TABLE_ROWS:
            return self.small_cost
        return self.cost

    def param_prefix(self, task: str) -> str:
        """Prefix that puts ``space`` names on the built model (``estimator__`` for wrappers).

        The tuner sets ``pipeline.set_params(**{"model__" + prefix + name: value})``.
        """
        from mlpilot.models.subsample import Subsampled

        model = self.build(task, 0)
        prefix = ""
        while isinstance(model, MultiOutputClassifier | Subsampled):
            prefix += "estimator__"
            model = model.estimator
        return prefix

    def space_for(self, task: str) -> Space:
        """The whole search space for ``task``: ``space`` plus that task's own entries."""
        return {**self.space, **self.task_spaces.get(task, {})}

    def supports(self, task: str) -> bool:
        return task in self.tasks


def per_task(regression: Space | None = None,
             classification: Space | None = None) -> dict[str, Space]:
    """``task_spaces`` for a family whose regressor and classifier differ in parameters."""
    spaces: dict[str, Space] = {}
    if regression:
        spaces["regression"] = regression
    if classification:
        spaces.update(dict.fromkeys(sorted(CLASSIFICATION), classification))
    return spaces


def wrap_multilabel(model: BaseEstimator, task: str) -> BaseEstimator:
    """One model per label for families without native multilabel support."""
    return MultiOutputClassifier(model) if task == "multilabel" else model


# ----------------------------------------------------------------------------- the zoo
def all_candidates() -> list[Candidate]:
    """Every family's candidates, cheapest first (including unavailable ones)."""
    found: list[Candidate] = []
    for module in FAMILY_MODULES:
        found.extend(importlib.import_module(f"mlpilot.models.{module}").CANDIDATES)
    names = [c.name for c in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:  # pragma: no cover - a programming error in a family module
        raise RuntimeError(f"candidate names used twice: {duplicates}")
    return sorted(found, key=lambda c: (c.cost, c.name))


def candidate_names() -> list[str]:
    return [c.name for c in all_candidates()]


def get_candidate(name: str) -> Candidate:
    """The candidate called ``name``; :class:`ConfigError` listing the names if unknown."""
    for candidate in all_candidates():
        if candidate.name == name:
            return candidate
    raise ConfigError(f"unknown model {name!r}",
                      f"choose among: {', '.join(candidate_names())}")


def available(candidate: Candidate) -> bool:
    """Whether the library the candidate needs is installed (checked without importing it)."""
    if candidate.requires is None:
        return True
    try:
        return importlib.util.find_spec(candidate.requires) is not None
    except (ImportError, ValueError):
        return False


def default_candidates(task: str, n_rows: int, n_features: int | None = None,
                       names: Iterable[str] | None = None) -> list[Candidate]:
    """The shortlist for ``task`` on a table of ``n_rows`` x ``n_features``, cheapest first.

    Without ``names``: the families marked ``default`` that support the task, whose library is
    installed and that are not hopeless at this size (``row_limit``/``feature_limit``: kernel
    SVMs on large tables, polynomial features on wide ones ...). With ``names``: exactly those
    candidates, no size rule applied (the user asked for them); a name that is unknown, does not
    support the task or whose library is missing raises :class:`ConfigError`.
    """
    if task not in ALL_TASKS:
        raise ConfigError(f"unknown task {task!r}", f"choose among: {', '.join(sorted(ALL_TASKS))}")
    if names is not None:
        chosen: dict[str, Candidate] = {}
        for name in names:
            candidate = get_candidate(name)
            if not candidate.supports(task):
                raise ConfigError(
                    f"model {name!r} cannot do {task}",
                    f"it does {', '.join(sorted(candidate.tasks))}; for {task} choose among: "
                    + ", ".join(c.name for c in all_candidates() if c.supports(task)))
            if not available(candidate):
                raise ConfigError(f"model {name!r} needs the {candidate.requires} library",
                                  f"pip install {candidate.requires}, or drop {name!r}")
            chosen[name] = candidate
        return sorted(chosen.values(), key=lambda c: (c.cost, c.name))
    return [c for c in all_candidates()
            if c.default and c.supports(task) and available(c)
            and (c.row_limit is None or n_rows <= c.row_limit)
            and (c.feature_limit is None or n_features is None or n_features <= c.feature_limit)]


def baseline_candidates() -> list[Candidate]:
    """The spine's first four candidates: dummy, linear, hist gradient boosting, random forest."""
    return [c for c in all_candidates() if c.name in BASELINE_NAMES]
