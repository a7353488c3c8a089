"""Fine-tuning one shortlisted model: the book's grid, randomized and halving searches, or Optuna.

Chapter 2 of the book fine-tunes the preprocessing and the model *together*
(``preprocessing__geo__n_clusters`` beside ``random_forest__max_features``), so the search
space here is the candidate's model space plus the knobs found in the preprocessing
pipeline (:func:`preprocessing_space`). The space is declared once (``mlpilot.models.space``)
and becomes a grid, scipy distributions or Optuna suggestions.

Optuna evaluates a trial fold by fold and reports the running mean, so a pruner can stop a
hopeless trial after a fold or two; its first trial is always the untuned pipeline, so tuning
never ends worse than the defaults. A study stored in an SQLAlchemy URL resumes when run again.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.pipeline import Pipeline

from mlpilot.atomic import write_with
from mlpilot.errors import ConfigError, TrainingError
from mlpilot.evaluate.metrics import Metric
from mlpilot.features.transformers import ClusterSimilarity, LogTransformer
from mlpilot.models.space import Categorical, Dimension, Float, Int
from mlpilot.models.space import distributions as space_distributions
from mlpilot.models.zoo import Candidate
from mlpilot.search.bagging import pack_model
from mlpilot.search.shortlist import (
    assemble_oof,
    build_pipeline,
    check_folds,
    fold_predictions,
    make_cv,
)

if TYPE_CHECKING:
    import optuna

STRATEGIES = ("optuna", "grid", "random", "halving")
DEFAULT_TRIALS = 20  # optuna, when neither n_trials nor budget is given
DEFAULT_ITER = 10  # random search's n_iter, as in the book
GRID_POINTS = 3  # values per numeric range in an automatic grid
PREFIX = "preprocess__"
_DEFAULT_ATTR = "mlpilot_default"  # marks the enqueued untuned trial of a study
_PORTFOLIO_ATTR = "mlpilot_portfolio"  # a portfolio trial's settings (full parameter names)

TuneEvent = Callable[[str, Any], None]


# ---------------------------------------------------------------------------- search space
def preprocessing_space(preprocessor: BaseEstimator, prefix: str = PREFIX,
                        n_rows: int | None = None) -> dict[str, Dimension]:
    """Tunable knobs of a preprocessing pipeline, keyed by full pipeline parameter name.

    The book tunes ``n_clusters`` of its ``ClusterSimilarity`` with the forest's
    ``max_features``; whether a log helps, and median vs mean imputation, are the
    "preparation options" its exercises suggest grid-searching. Found by walking
    ``get_params(deep=True)``:

    - every :class:`ClusterSimilarity`: ``n_clusters`` Int(4, 50), ``gamma`` Float(0.05, 5, log);
    - every :class:`LogTransformer` that is a step of a Pipeline or a ColumnTransformer:
      the step itself, ``Categorical((LogTransformer(), "passthrough"))`` (log on/off);
    - every numeric ``SimpleImputer`` (median or mean): ``strategy`` median/mean.

    ``n_rows`` (rows a model is fitted on) caps ``n_clusters`` at half of them: k-means
    cannot find more centres than rows, and a centre per two rows is no longer a summary.
    """
    nodes: list[tuple[str, Any]] = [("", preprocessor)]
    nodes += [(f"{name}__", value) for name, value in preprocessor.get_params(deep=True).items()
              if isinstance(value, BaseEstimator)]
    space: dict[str, Dimension] = {}
    for path, node in nodes:
        if isinstance(node, ClusterSimilarity):
            high = 50 if n_rows is None else max(4, min(50, n_rows // 2))
            space[f"{prefix}{path}n_clusters"] = Int(4, high)
            space[f"{prefix}{path}gamma"] = Float(0.05, 5.0, log=True)
        elif isinstance(node, SimpleImputer) and node.strategy in ("median", "mean"):
            space[f"{prefix}{path}strategy"] = Categorical(("median", "mean"))
        for name, child in _children(node):
            if isinstance(child, LogTransformer):
                space[f"{prefix}{path}{name}"] = Categorical((clone(child), "passthrough"))
    return space


def search_space(candidate: Candidate, task: str, pipeline: Pipeline, *,
                 tune_preprocessing: bool = True, fixed: Sequence[str] = (),
                 n_rows: int | None = None) -> dict[str, Dimension]:
    """The model's space (``model__`` names) plus the preprocessing's, minus ``fixed`` names."""
    model_prefix = "model__" + candidate.param_prefix(task)
    space: dict[str, Dimension] = {model_prefix + k: v for k, v in candidate.space.items()}
    if tune_preprocessing:
        space.update(preprocessing_space(pipeline.named_steps["preprocess"], n_rows=n_rows))
    return {k: v for k, v in space.items() if k not in set(fixed)}


def _children(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, Pipeline):
        return list(node.steps)
    if isinstance(node, ColumnTransformer):
        return [(name, transformer) for name, transformer, _ in node.transformers]
    return []


# ---------------------------------------------------------------------------- result
@dataclass
class TuneResult:
    """What a search found, in the metric's natural sign (an RMSE is positive)."""

    candidate: str
    strategy: str
    metric: Metric
    best_params: dict[str, Any]  # full pipeline parameter names -> values
    best_score: float
    default_score: float | None  # the untuned pipeline under the same folds, if computed
    n_trials: int
    elapsed: float  # seconds
    cv_results: pd.DataFrame  # one row per trial / parameter set
    base_pipeline: Pipeline = field(repr=False)
    study_name: str | None = None
    #: The best trial's out-of-fold predictions, when this run computed them (Optuna), so
    #: ensemble selection need not cross-validate the tuned pipeline again.
    oof: np.ndarray | None = field(default=None, repr=False)
    oof_fold_scores: list[float] | None = None  # the per-fold scores behind ``oof``
    #: The best trial's fitted fold pipelines, pickled (``search/bagging.py``), when kept.
    fold_models: list[bytes] | None = field(default=None, repr=False)

    def pipeline(self) -> Pipeline:
        """The unfitted ``Pipeline(preprocess, model)`` with ``best_params`` set."""
        return clone(self.base_pipeline).set_params(**_fresh(self.best_params))

    @property
    def improvement(self) -> float | None:
        """How much better than the defaults, in the metric's units (positive = better)."""
        if self.default_score is None:
            return None
        gain = self.best_score - self.default_score
        return gain if self.metric.greater_is_better else -gain

    def to_csv(self, path: str | Path) -> Path:
        """Write ``cv_results`` atomically (never a half-written file)."""
        return write_with(path, lambda tmp: self.cv_results.to_csv(tmp, index=False))


# ---------------------------------------------------------------------------- entry point
def tune(
    X: pd.DataFrame,
    y: pd.Series | pd.DataFrame,
    *,
    candidate: Candidate,
    preprocessor: BaseEstimator | Mapping[str, BaseEstimator],
    task: str,
    metric: Metric,
    strategy: str = "optuna",
    n_trials: int | None = None,
    budget: float | None = None,
    n_splits: int = 5,
    seed: int = 42,
    storage_url: str | None = None,
    study_name: str | None = None,
    n_jobs: int = -1,
    tune_preprocessing: bool = True,
    base_params: Mapping[str, Any] | None = None,
    on_event: TuneEvent | None = None,
    param_grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]] | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    default_scores: Sequence[float] | None = None,
) -> TuneResult:
    """Fine-tune ``Pipeline(preprocess, model)`` of one candidate by cross-validation.

    ``strategy``: ``optuna`` (TPE + pruning over folds; ``n_trials`` and/or ``budget``
    seconds, 20 trials when neither is given; the study lives in ``storage_url`` under
    ``study_name`` and resumes), ``grid`` (GridSearchCV on a small grid, or ``param_grid``
    verbatim), ``random`` (RandomizedSearchCV, ``n_trials`` draws, 10 by default) or
    ``halving`` (HalvingRandomSearchCV, factor 3). ``budget`` only bounds Optuna: the
    scikit-learn searches run to the end, so size them with ``n_trials``.

    ``base_params`` are set on the pipeline first and left out of the search.
    ``default_scores``: the untuned pipeline's fold scores under these folds, when known (the
    shortlist's last rung), so Optuna records them instead of training it again. The
    candidate's ``portfolio`` settings are tried right after the defaults (Optuna).
    ``on_event(kind, payload)`` gets ``("start", dict)``, ``("trial", row)`` per Optuna trial
    and ``("done", TuneResult)``.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown tuning strategy {strategy!r}",
                          f"choose one of: {', '.join(STRATEGIES)}")
    if n_trials is not None and n_trials < 1:
        raise ConfigError(f"n_trials must be at least 1, got {n_trials}",
                          "give a positive number of trials")
    check_folds(y, task, n_splits)
    started = time.perf_counter()
    pipeline = build_pipeline(candidate, preprocessor, task, seed)
    if base_params:
        pipeline.set_params(**_fresh(dict(base_params)))
    space = search_space(candidate, task, pipeline, tune_preprocessing=tune_preprocessing,
                         fixed=list(base_params or ()), n_rows=len(y) * (n_splits - 1) // n_splits)
    if strategy == "grid" and param_grid is not None:
        names = list(dict.fromkeys(k for g in _grid_list(param_grid) for k in g))
    else:
        names = list(space)
    if not names or (strategy == "grid" and param_grid is None and not _grid_space(space)):
        raise ConfigError(f"nothing to tune for {candidate.name!r}: its search space is empty",
                          "give the candidate a space, or tune_preprocessing=True with a "
                          "preprocessing that has tunable steps")
    all_params = pipeline.get_params(deep=True)
    defaults = {k: all_params[k] for k in names if k in all_params}
    _emit(on_event, "start", {"candidate": candidate.name, "strategy": strategy,
                              "params": names})
    cv = make_cv(task, n_splits, seed)
    common = {"X": X, "y": y, "pipeline": pipeline, "metric": metric, "cv": cv,
              "defaults": defaults, "n_jobs": n_jobs}
    oof: tuple[np.ndarray, list[float], list[bytes] | None] | None = None
    if strategy == "optuna":
        model_prefix = "model__" + candidate.param_prefix(task)
        portfolio = [{model_prefix + k: _plain(v) for k, v in settings.items()}
                     for settings in candidate.portfolio]
        portfolio = [p for p in portfolio if p and set(p) <= set(space)]
        found, oof = _tune_optuna(**common, space=space, n_trials=n_trials, budget=budget,
                                  seed=seed, storage_url=storage_url,
                                  study_name=study_name or f"mlpilot-{candidate.name}",
                                  pruner=pruner, on_event=on_event, portfolio=portfolio,
                                  default_scores=default_scores, task=task,
                                  keep_models=candidate.keeps_fold_models)
    else:
        found = _tune_sklearn(**common, strategy=strategy, space=space,
                              param_grid=param_grid, n_trials=n_trials, seed=seed)
    best_params, best_score, default_score, rows = found
    result = TuneResult(
        candidate=candidate.name, strategy=strategy, metric=metric,
        best_params={k: _plain(v) for k, v in {**defaults, **best_params}.items()},
        best_score=best_score,
        default_score=default_score, n_trials=len(rows),
        elapsed=time.perf_counter() - started, cv_results=_frame(rows, names, metric),
        base_pipeline=pipeline,
        study_name=(study_name or f"mlpilot-{candidate.name}") if strategy == "optuna" else None,
        oof=oof[0] if oof else None, oof_fold_scores=oof[1] if oof else None,
        fold_models=oof[2] if oof else None,
    )
    _emit(on_event, "done", result)
    return result


# ---------------------------------------------------------------------------- optuna
_Found = tuple[dict[str, Any], float, float | None, list[dict[str, Any]]]


def _tune_optuna(*, X: pd.DataFrame, y: pd.Series | pd.DataFrame, pipeline: Pipeline,
                 metric: Metric, cv: Any, defaults: dict[str, Any], n_jobs: int,
                 space: dict[str, Dimension], n_trials: int | None, budget: float | None,
                 seed: int, storage_url: str | None, study_name: str,
                 pruner: optuna.pruners.BasePruner | None,
                 on_event: TuneEvent | None, portfolio: Sequence[dict[str, Any]] = (),
                 default_scores: Sequence[float] | None = None,
                 task: str = "regression", keep_models: bool = True,
                 ) -> tuple[_Found, tuple[np.ndarray, list[float], list[bytes] | None] | None]:
    import optuna

    folds = list(cv.split(X, y))
    workers = max(1, min(effective_n_jobs(n_jobs), len(folds)))
    scorer = get_scorer(metric.scorer)
    direction = "maximize" if metric.greater_is_better else "minimize"
    storage = optuna.storages.RDBStorage(storage_url) if storage_url else None
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no INFO line per trial
    try:
        study = optuna.create_study(
            storage=storage, study_name=study_name, direction=direction, load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=seed),
            # No pruning on the first fold: one fold is too noisy to judge a trial.
            pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))
        if study.direction.name.lower() != direction:
            raise ConfigError(f"the stored study {study_name!r} was made to {study.direction.name}"
                              f" but {metric.name} needs to {direction}",
                              "choose another study_name")
        done = study.get_trials(deepcopy=False)
        if not any(t.user_attrs.get(_DEFAULT_ATTR) for t in done):
            # The untuned pipeline first: tuning can then never end worse than the defaults.
            if default_scores is not None and len(default_scores) == len(folds):
                study.add_trial(optuna.trial.create_trial(
                    value=float(np.mean(default_scores)), params={}, distributions={},
                    user_attrs={_DEFAULT_ATTR: True,
                                "fold_scores": [float(v) for v in default_scores]}))
            else:
                study.enqueue_trial({}, user_attrs={_DEFAULT_ATTR: True})
        tried = [t.user_attrs.get(_PORTFOLIO_ATTR) for t in done]
        for settings in portfolio:
            if settings not in tried:
                study.enqueue_trial({}, user_attrs={_PORTFOLIO_ATTR: settings})
        if n_trials is None and budget is None:
            n_trials = DEFAULT_TRIALS

        def objective(trial: optuna.Trial) -> float:
            try:
                return evaluate(trial)
            except optuna.TrialPruned:
                raise
            except Exception as exc:  # recorded, then the study goes on (catch= below)
                trial.set_user_attr("error", f"{type(exc).__name__}: {_first_line(exc)}")
                raise

        best_oof: dict[str, Any] = {}  # the best finished trial's out-of-fold predictions
        want_oof = task != "multilabel"
        keep = want_oof and keep_models  # ... and its fitted fold models (search/bagging)

        def evaluate(trial: optuna.Trial) -> float:
            is_default = bool(trial.user_attrs.get(_DEFAULT_ATTR))
            settings = trial.user_attrs.get(_PORTFOLIO_ATTR)
            if is_default:
                params: dict[str, Any] = {}
            elif settings:
                params = dict(settings)
            else:
                params = {n: d.suggest(trial, n) for n, d in space.items()}
            pipe = clone(pipeline).set_params(**_fresh(params))
            scores: list[float] = []
            fit_times: list[float] = []
            predictions: list[tuple[np.ndarray, np.ndarray | None]] = []
            models: list[bytes | None] = []
            for batch in _batches(folds, workers):
                if workers > 1:  # folds of a batch in parallel, reported in fold order
                    results = parallel(delayed(_fit_score)(clone(pipe), X, y, train, test,
                                                           scorer, want_oof, keep)
                                       for train, test in batch)
                else:
                    results = [_fit_score(clone(pipe), X, y, train, test, scorer, want_oof,
                                          keep)
                               for train, test in batch]
                for (_, test), (score, fit_time, predicted, model) in zip(batch, results,
                                                                           strict=True):
                    scores.append(metric.from_sklearn(score))
                    fit_times.append(fit_time)
                    predictions.append((test, predicted))
                    models.append(model)
                    trial.report(float(np.mean(scores)), step=len(scores) - 1)
                trial.set_user_attr("fold_scores", scores)
                trial.set_user_attr("mean_fit_time", float(np.mean(fit_times)))
                if not is_default and len(scores) < len(folds) and trial.should_prune():
                    raise optuna.TrialPruned()
            mean = float(np.mean(scores))
            if want_oof and ("score" not in best_oof or metric.better(mean, best_oof["score"])):
                best_oof.update(score=mean, trial=trial.number, folds=list(scores),
                                oof=assemble_oof(predictions, len(y)),
                                models=models if all(m is not None for m in models) else None)
            return mean

        def callback(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
            _emit(on_event, "trial", _optuna_row(frozen, space, defaults))
            # Optuna's timeout only stops *starting* trials: one begun just before the end
            # would run past the budget. Stop when a trial as long as this one cannot fit.
            if (budget is not None and frozen.duration is not None
                    and frozen.state == optuna.trial.TrialState.COMPLETE
                    and frozen.duration.total_seconds() > budget - (time.perf_counter() - begun)):
                study.stop()

        begun = time.perf_counter()
        with Parallel(n_jobs=workers) as parallel, warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            study.optimize(objective, n_trials=n_trials, timeout=budget, catch=(Exception,),
                           callbacks=[callback])
    finally:
        optuna.logging.set_verbosity(verbosity)

    trials = study.get_trials(deepcopy=False)
    rows = [_optuna_row(t, space, defaults) for t in trials
            if t.state.name in ("COMPLETE", "PRUNED", "FAIL")]
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    if not complete:
        reasons = {str(t.user_attrs["error"]) for t in trials if "error" in t.user_attrs}
        raise TrainingError(f"no trial of {study_name!r} could be cross-validated",
                            "; ".join(sorted(reasons)) or "raise the budget or n_trials")
    best = study.best_trial
    default = next((t for t in complete if t.user_attrs.get(_DEFAULT_ATTR)), None)
    oof = None
    if best_oof.get("trial") == best.number and best_oof.get("oof") is not None:
        oof = (best_oof["oof"], best_oof["folds"], best_oof["models"])
    found = (_trial_params(best, space), float(best.value),  # type: ignore[arg-type]
             float(default.value) if default is not None else None, rows)  # type: ignore[arg-type]
    return found, oof


def _trial_params(trial: optuna.trial.FrozenTrial,
                  space: dict[str, Dimension]) -> dict[str, Any]:
    """A trial's pipeline settings: a portfolio trial's are in its attributes."""
    settings = trial.user_attrs.get(_PORTFOLIO_ATTR)
    return dict(settings) if settings else _decode(space, trial.params)


def _first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""


def _optuna_row(trial: optuna.trial.FrozenTrial, space: dict[str, Dimension],
                defaults: dict[str, Any]) -> dict[str, Any]:
    scores = trial.user_attrs.get("fold_scores") or []
    if trial.value is not None:
        mean = float(trial.value)
    elif trial.intermediate_values:  # pruned: the running mean when it was stopped
        mean = float(trial.intermediate_values[max(trial.intermediate_values)])
    else:
        mean = math.nan
    return {"trial": trial.number, "state": trial.state.name.lower(),
            "default": bool(trial.user_attrs.get(_DEFAULT_ATTR)),
            "params": {**defaults, **_trial_params(trial, space)},
            "mean_score": mean, "std_score": float(np.std(scores)) if scores else math.nan,
            "mean_fit_time": trial.user_attrs.get("mean_fit_time", math.nan),
            "n_folds": len(scores)}


def _decode(space: dict[str, Dimension], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Optuna's stored values back to pipeline values (object choices are stored by index)."""
    out = {}
    for name, value in raw.items():
        dim = space.get(name)
        if isinstance(dim, Categorical) and not all(
                c is None or isinstance(c, (bool, int, float, str)) for c in dim.choices):
            out[name] = dim.choices[int(value)]
        else:
            out[name] = value
    return out


def _fit_score(pipe: Pipeline, X: Any, y: Any, train: np.ndarray, test: np.ndarray,
               scorer: Any, want_oof: bool = False, keep_model: bool = False,
               ) -> tuple[float, float, np.ndarray | None, bytes | None]:
    """Fit on one fold's training rows, score on its held-out rows (sklearn's sign), and
    keep the held-out predictions and the fitted pipeline (pickled) if asked."""
    start = time.perf_counter()
    pipe.fit(_rows(X, train), _rows(y, train))
    fit_time = time.perf_counter() - start
    held_out = _rows(X, test)
    predicted = fold_predictions(pipe, held_out) if want_oof else None
    return (float(scorer(pipe, held_out, _rows(y, test))), fit_time, predicted,
            pack_model(pipe) if keep_model else None)


def _rows(data: Any, index: np.ndarray) -> Any:
    return data.iloc[index] if hasattr(data, "iloc") else np.asarray(data)[index]


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------- scikit-learn
def _tune_sklearn(*, X: pd.DataFrame, y: pd.Series | pd.DataFrame, pipeline: Pipeline,
                  metric: Metric, cv: Any, defaults: dict[str, Any], n_jobs: int,
                  strategy: str, space: dict[str, Dimension],
                  param_grid: Mapping[str, Sequence[Any]]
                  | Sequence[Mapping[str, Sequence[Any]]] | None,
                  n_trials: int | None, seed: int) -> _Found:
    common: dict[str, Any] = {"scoring": metric.scorer, "refit": False, "cv": cv,
                              "n_jobs": n_jobs}
    default_score: float | None = None
    default_row: dict[str, Any] | None = None
    search: Any
    if strategy == "grid":
        if param_grid is None:
            # The defaults as one more grid point ({} = untuned), evaluated on the same folds.
            grids: list[Any] = [{}, _grid_space(space)]
        else:
            grids = [dict(g) for g in _grid_list(param_grid)]
        search = GridSearchCV(pipeline, grids, **common)
    else:
        default = cross_validate(pipeline, X, y, cv=cv, scoring=metric.scorer, n_jobs=n_jobs)
        default_score = metric.from_sklearn(float(np.mean(default["test_score"])))
        default_row = {"state": "complete", "default": True, "params": dict(defaults),
                       "mean_score": default_score,
                       "std_score": float(np.std(default["test_score"])),
                       "mean_fit_time": float(np.mean(default["fit_time"])),
                       "n_folds": len(default["test_score"])}
        distributions = space_distributions(space)
        if strategy == "random":
            search = RandomizedSearchCV(pipeline, distributions, n_iter=n_trials or DEFAULT_ITER,
                                        random_state=seed, **common)
        else:
            from sklearn.experimental import enable_halving_search_cv  # noqa: F401
            from sklearn.model_selection import HalvingRandomSearchCV

            # "exhaust": the first round gets as many rows as the last round allows, not
            # sklearn's random-search default "smallest" (2 rows per fold, too few to judge).
            search = HalvingRandomSearchCV(pipeline, distributions, factor=3,
                                           n_candidates=n_trials or "exhaust",
                                           min_resources="exhaust", random_state=seed,
                                           **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        search.fit(X, y)
    results = search.cv_results_
    rows = _sklearn_rows(results, defaults, metric, cv.get_n_splits(),
                         last_iter=search.n_iterations_ - 1 if strategy == "halving" else None)
    if strategy == "grid" and param_grid is None:
        rows[0]["default"] = True
        default_score = rows[0]["mean_score"]
    best_params = dict(results["params"][search.best_index_])
    best_score = metric.from_sklearn(search.best_score_)
    if default_row is not None:
        rows.insert(0, default_row)
        assert default_score is not None
        if math.isnan(best_score) or metric.better(default_score, best_score):
            best_params, best_score = {}, default_score
    for number, row in enumerate(rows):
        row["trial"] = number
    return best_params, best_score, default_score, rows


def _sklearn_rows(results: dict[str, Any], defaults: dict[str, Any], metric: Metric,
                  n_folds: int, last_iter: int | None) -> list[dict[str, Any]]:
    """One row per parameter set; a halving candidate keeps its last round only."""
    rows: dict[str, dict[str, Any]] = {}
    for i, params in enumerate(results["params"]):
        mean = metric.from_sklearn(results["mean_test_score"][i])
        row = {"state": "fail" if math.isnan(mean) else "complete", "default": False,
               "params": {**defaults, **params}, "mean_score": mean,
               "std_score": float(results["std_test_score"][i]),
               "mean_fit_time": float(results["mean_fit_time"][i]), "n_folds": n_folds}
        if last_iter is not None:
            row["iter"] = int(results["iter"][i])
            row["n_resources"] = int(results["n_resources"][i])
            if row["state"] == "complete" and row["iter"] < last_iter:
                row["state"] = "pruned"  # eliminated in an earlier round of halving
        # A halving candidate's later rounds overwrite its earlier ones; grids may repeat a
        # point (the book's does), and each repetition stays a row.
        key = repr(sorted(params.items())) if last_iter is not None else str(i)
        rows[key] = row
    return list(rows.values())


def _grid_list(param_grid: Any) -> list[Mapping[str, Sequence[Any]]]:
    return [param_grid] if isinstance(param_grid, Mapping) else list(param_grid)


def _grid_space(space: dict[str, Dimension]) -> dict[str, list[Any]]:
    """A small grid: the model's ranges at 3 points, of the preprocessing only n_clusters.

    Grids multiply: with every imputer and log switch they would explode, so the automatic
    grid keeps the one preprocessing knob the book grid-searches.
    """
    keep = {k: d for k, d in space.items()
            if not k.startswith(PREFIX) or k.endswith("__n_clusters")}
    return {k: d.grid(GRID_POINTS) for k, d in keep.items()}


# ---------------------------------------------------------------------------- helpers
def _frame(rows: list[dict[str, Any]], names: list[str], metric: Metric) -> pd.DataFrame:
    """cv_results: trial, state, default, one column per parameter, scores, rank."""
    records = []
    for row in rows:
        record = {"trial": row["trial"], "state": row["state"], "default": row["default"]}
        record.update({n: _display(row["params"].get(n)) for n in names})
        record.update({k: row[k] for k in ("mean_score", "std_score", "mean_fit_time",
                                             "n_folds")})
        record.update({k: row[k] for k in ("iter", "n_resources") if k in row})
        records.append(record)
    frame = pd.DataFrame(records)
    ranked = frame["state"].eq("complete") & frame["mean_score"].notna()
    rank = frame.loc[ranked, "mean_score"].rank(method="min",
                                                ascending=not metric.greater_is_better)
    frame["rank"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame.loc[ranked, "rank"] = rank.astype(int)
    return frame


def _plain(value: Any) -> Any:
    """NumPy scalars (scipy draws) as Python numbers, so params print and serialize cleanly."""
    return value.item() if isinstance(value, np.generic) else value


def _display(value: Any) -> Any:
    """Readable cell values: an estimator shows as its class name (``LogTransformer``)."""
    value = _plain(value)
    if isinstance(value, BaseEstimator):
        return type(value).__name__
    if value is not None and not isinstance(value, (bool, int, float, str)):
        return repr(value)
    return value


def _fresh(params: Mapping[str, Any]) -> dict[str, Any]:
    """A new copy of estimator values, so no two pipelines share a fitted step."""
    return {k: clone(v) if isinstance(v, BaseEstimator) else v for k, v in params.items()}


def _emit(on_event: TuneEvent | None, kind: str, payload: Any) -> None:
    if on_event is not None:
        on_event(kind, payload)
