"""Suspected target leakage: one feature that alone predicts the target almost perfectly.

For each feature, a shallow decision tree on that single column (numbers, booleans) or an
out-of-fold per-category mean/majority (categories) is cross-validated on at most
``LEAK_SAMPLE`` rows. A score this high from one column usually means the column is computed
from the target, or is only known after it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mlpilot.data.schema import ColumnKind, Schema

from .flags import Flag, FlagKind, Severity
from .stats import feature_matrix, numeric_target

LEAK_SAMPLE = 5000
LEAK_R2 = 0.98          # regression: cross-validated R² (or in-sample Pearson r²)
LEAK_AUC = 0.99         # binary classification: cross-validated ROC AUC
LEAK_ACCURACY = 0.99    # multiclass: cross-validated balanced accuracy
TREE_DEPTH = 5
N_SPLITS = 3
MAX_FEATURES = 500
MIN_ROWS = 30


def _task(frame: pd.DataFrame, schema: Schema, target: str) -> str | None:
    kind = schema.kind(target)
    n_classes = frame[target].nunique()
    if kind == ColumnKind.NUMERIC and n_classes > 2:
        return "regression"
    if n_classes == 2:
        return "binary"
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and n_classes > 2:
        return "multiclass"
    return None


def _folds(y: np.ndarray, task: str) -> list[tuple[np.ndarray, np.ndarray]]:
    if task != "regression":
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= N_SPLITS:
            splitter = StratifiedKFold(N_SPLITS, shuffle=True, random_state=0)
            return list(splitter.split(np.zeros(len(y)), y))
    return list(KFold(N_SPLITS, shuffle=True, random_state=0).split(np.zeros(len(y))))


def _score(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    if task == "regression":
        return float(r2_score(y, pred))
    if task == "binary":
        return float(roc_auc_score(y, pred))
    return float(balanced_accuracy_score(y, pred))


def _tree_oof(x: np.ndarray, y: np.ndarray, task: str,
              folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    pred = np.zeros(len(y), dtype=float if task != "multiclass" else y.dtype)
    for train, test in folds:
        if task == "regression":
            model: DecisionTreeRegressor | DecisionTreeClassifier = DecisionTreeRegressor(
                max_depth=TREE_DEPTH, random_state=0)
            model.fit(x[train], y[train])
            pred[test] = model.predict(x[test])
        else:
            model = DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=0)
            model.fit(x[train], y[train])
            if task == "binary":
                proba = model.predict_proba(x[test])
                pred[test] = proba[:, 1] if proba.shape[1] == 2 else 0.0
            else:
                pred[test] = model.predict(x[test])
    return pred


def _category_oof(x: pd.Series, y: np.ndarray, task: str,
                  folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Out-of-fold prediction from the category alone: mean target (or majority class)."""
    codes = x.astype("object").where(x.notna(), "(missing)").astype(str).to_numpy()
    pred = np.zeros(len(y), dtype=float if task != "multiclass" else y.dtype)
    for train, test in folds:
        train_frame = pd.DataFrame({"c": codes[train], "y": y[train]})
        if task == "multiclass":
            table = train_frame.groupby("c")["y"].agg(lambda s: s.value_counts().index[0])
            fallback = pd.Series(y[train]).value_counts().index[0]
        else:
            table = train_frame.groupby("c")["y"].mean()
            fallback = float(np.mean(y[train]))
        mapped = pd.Series(codes[test]).map(table)
        pred[test] = mapped.where(mapped.notna(), fallback).to_numpy()
    return pred


def leakage_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    """Features that alone predict ``target`` (almost) perfectly; empty without a target."""
    if target is None or target not in frame.columns:
        return []
    task = _task(frame, schema, target)
    if task is None:
        return []
    known = frame[target].notna()
    data = frame.loc[known]
    if len(data) > LEAK_SAMPLE:
        data = data.sample(LEAK_SAMPLE, random_state=0)
    if len(data) < MIN_ROWS:
        return []
    if task == "regression":
        y = pd.to_numeric(data[target], errors="coerce").to_numpy(dtype=float)
    elif task == "binary":
        encoded = numeric_target(data, schema, target)
        if encoded is None:
            return []
        y = encoded.to_numpy(dtype=float)
    else:
        y = data[target].astype(str).to_numpy()
    if task != "multiclass" and not np.isfinite(y).all():
        keep = np.isfinite(y)
        data, y = data.loc[keep], y[keep]
    folds = _folds(y, task)
    numbers = feature_matrix(data, schema, exclude=(target,))
    categories = schema.names(ColumnKind.CATEGORICAL, exclude=(target,))
    flags: list[Flag] = []
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in [*numbers.columns, *categories]:
            if checked >= MAX_FEATURES:
                break
            checked += 1
            if name in numbers.columns:
                x = numbers[name].to_numpy(dtype=float)
                if np.isfinite(x).sum() < MIN_ROWS or np.unique(x[np.isfinite(x)]).size < 2:
                    continue
                pred = _tree_oof(x.reshape(-1, 1), y, task, folds)
                how = f"a depth-{TREE_DEPTH} decision tree on this column alone"
            else:
                pred = _category_oof(data[name], y, task, folds)
                how = "the per-category mean of the target (learnt out of fold)"
            score = _score(task, y, pred)
            metric, threshold = {"regression": ("R²", LEAK_R2), "binary": ("ROC AUC", LEAK_AUC),
                                 "multiclass": ("balanced accuracy", LEAK_ACCURACY)}[task]
            measured = f"cross-validated {metric}"
            if task == "regression" and name in numbers.columns:
                ok = np.isfinite(x)
                if ok.sum() > 2 and np.std(x[ok]) > 0:
                    r2_linear = float(np.corrcoef(x[ok], y[ok])[0, 1] ** 2)
                    if r2_linear > score:
                        score, how = r2_linear, "a straight line on this column alone"
                        measured = "R² (squared Pearson correlation)"
            if score >= threshold:
                flags.append(Flag(
                    name, FlagKind.LEAKAGE,
                    f"{how} predicts {target} with {measured} {score:.3f} "
                    f"(≥ {threshold:g}; {len(y):,} rows)",
                    "Check that this column is known at prediction time and is not derived "
                    "from the target; if it is, drop it, or every score will be too good to "
                    "be true",
                    Severity.CRITICAL, value=score))
    return flags
