"""mlpilot vs FLAML on California housing, side by side, same split, same machine.

The book's stratified split (income categories, seed 42): 16,512 training rows, 4,128 test
rows. For each budget, mlpilot runs its own steps (prepare, train --budget, optional tune,
evaluate once on the locked test set) and FLAML gets the same training rows and the same
time budget. Prints test RMSE, wall time and the ratio, and the time to mlpilot's first
leaderboard row. Not a test: a figure to record in docs/benchmarks.md.

    MLPILOT_DATA_HOME=../shared/datasets .venv/bin/python benchmarks/housing_automl.py \
        --budgets 60 300

FLAML is not a dependency of mlpilot: `pip install flaml` first (or pass --no-flaml).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import train_test_split

from mlpilot import Project
from mlpilot.data.catalog import load_dataset

INCOME_BINS = [0.0, 1.5, 3.0, 4.5, 6.0, np.inf]
TARGET = "median_house_value"


def book_split(housing: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    income_cat = pd.cut(housing["median_income"], bins=INCOME_BINS, labels=False)
    return train_test_split(housing, test_size=0.2, stratify=income_cat, random_state=42)


def run_mlpilot(housing: pd.DataFrame, budget: float, tune_share: float,
                workdir: str) -> dict[str, float]:
    started = time.perf_counter()
    project = Project.init(f"{workdir}/housing-{budget:.0f}", housing, TARGET,
                           split="stratified", stratify_on="median_income", bins=INCOME_BINS,
                           seed=42)
    project.prepare()
    prepared = time.perf_counter()
    first_row: list[float] = []

    def on_event(kind: str, payload: object) -> None:
        if kind == "done" and not first_row:
            first_row.append(time.perf_counter() - prepared)

    train_budget = budget * (1 - tune_share)
    project.train(budget=train_budget, on_event=on_event)
    if tune_share > 0 and hasattr(project, "tune"):
        project.tune(budget=budget * tune_share)
    searched = time.perf_counter()
    evaluation = project.evaluate()
    project.close()
    return {"test_rmse": evaluation.score, "cv_rmse": evaluation.cv_mean,
            "model": evaluation.model_name,  # type: ignore[dict-item]
            "prepare_s": prepared - started, "search_s": searched - prepared,
            "first_row_s": first_row[0] if first_row else float("nan"),
            "wall_s": time.perf_counter() - started}


def run_flaml(train: pd.DataFrame, test: pd.DataFrame, budget: float) -> dict[str, float]:
    from flaml import AutoML

    automl = AutoML()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(train.drop(columns=TARGET), train[TARGET], task="regression", metric="rmse",
                   time_budget=budget, n_jobs=2, seed=42, verbose=0)
    wall = time.perf_counter() - started
    pred = automl.predict(test.drop(columns=TARGET))
    return {"test_rmse": root_mean_squared_error(test[TARGET], pred), "wall_s": wall,
            "model": automl.best_estimator}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0])
    parser.add_argument("--tune-share", type=float, default=0.0,
                        help="share of the budget given to `tune` after `train`")
    parser.add_argument("--no-flaml", action="store_true")
    args = parser.parse_args()
    housing = load_dataset("housing")
    train, test = book_split(housing)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlpilot-bench-") as workdir:
        for budget in args.budgets:
            ours = run_mlpilot(housing, budget, args.tune_share, workdir)
            row = {"budget_s": budget, **{f"mlpilot_{k}": v for k, v in ours.items()}}
            if not args.no_flaml:
                theirs = run_flaml(train, test, budget)
                row.update({f"flaml_{k}": v for k, v in theirs.items()})
                row["rmse_ratio_mlpilot_to_flaml"] = ours["test_rmse"] / theirs["test_rmse"]
            rows.append(row)
            print(pd.Series(row).to_string(), flush=True)
            print()
    print(pd.DataFrame(rows).T.to_string())


if __name__ == "__main__":
    main()
