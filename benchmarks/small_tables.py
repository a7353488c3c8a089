"""mlpilot on the small classic tables: titanic, wine, breast cancer, diabetes.

For each: init (the default split), prepare, train within a budget, one evaluation on the
locked test set. Prints the metric, CV vs test, the final model and the wall time.

    MLPILOT_DATA_HOME=../shared/datasets .venv/bin/python benchmarks/small_tables.py --budget 30
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pandas as pd

from mlpilot import Project
from mlpilot.data.catalog import dataset_info

TABLES = {  # catalog name -> metric to report
    "titanic": "accuracy",
    "wine": "accuracy",
    "breast_cancer": "roc_auc",
    "diabetes": "rmse",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlpilot-bench-") as tmp:
        for name, metric in TABLES.items():
            info = dataset_info(name)
            started = time.perf_counter()
            project = Project.init(f"{tmp}/{name}", name, info.target or "", metric=metric,
                                   seed=42)
            project.prepare()
            project.train(budget=args.budget)
            evaluation = project.evaluate()
            rows.append({"table": name, "metric": metric, "model": evaluation.model_name,
                         "cv": round(evaluation.cv_mean, 4), "cv_std": round(evaluation.cv_std, 4),
                         "test": round(evaluation.score, 4), "test_rows": evaluation.n_rows,
                         "wall_s": round(time.perf_counter() - started, 1)})
            print(rows[-1], flush=True)
            project.close()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
