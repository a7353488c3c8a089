"""Chapter 2: the book's preprocessing, rebuilt automatically, and its model comparison."""

from __future__ import annotations

import tempfile

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

from mlpilot.data.catalog import load_dataset
from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.recipes.ch02_housing_forest import book_preprocessing
from mlpilot.recipes.ch02_housing_split import BOOK_SPLIT


def run() -> RecipeResult:
    from mlpilot.project import Project

    housing = load_dataset("housing")
    with tempfile.TemporaryDirectory(prefix="mlpilot-recipe-") as tmp:
        project = Project.init(f"{tmp}/housing", housing, "median_house_value", **BOOK_SPLIT)
        plan = project.prepare().plan
        assert plan is not None
        # The book's chapter 2 has no neighbour features (its exercise 4 suggests them):
        # prepare.py's neighbour blocks are dropped so the two pipelines compare.
        preprocessing, dropped = book_preprocessing(project)
        X, y = project.training_data()
        names = list(clone(preprocessing).fit(X, y).get_feature_names_out())
        n_features = len(names)
        shape = {
            "ratio": len(plan.ratios),
            "log": len(plan.with_treatment("log")),
            "cluster similarity": sum("similarity" in n for n in names),
            "one-hot": sum(n.startswith("ocean_proximity_") for n in names),
        }
        scores = {}
        for name, model in [("linear", LinearRegression()),
                            ("tree", DecisionTreeRegressor(random_state=42)),
                            ("forest", RandomForestRegressor(random_state=42, n_jobs=-1))]:
            pipe = make_pipeline(clone(preprocessing), model)
            rmse = -cross_val_score(pipe, X, y, scoring="neg_root_mean_squared_error", cv=10)
            scores[name] = (float(np.mean(rmse)), float(np.std(rmse)))
        project.close()
    ratios = ", ".join(r.name for r in plan.ratios)
    return RecipeResult("ch02-housing-pipeline", [
        Comparison("ratio features (kept by CV)", 3, shape["ratio"], 3, "{:.0f}"),
        Comparison("log features", 5, shape["log"], 0, "{:.0f}"),
        Comparison("cluster-similarity features", 10, shape["cluster similarity"], 0, "{:.0f}"),
        Comparison("one-hot features", 5, shape["one-hot"], 0, "{:.0f}"),
        Comparison("features in all", 24, n_features, 3, "{:.0f}"),
        Comparison("LinearRegression 10-fold CV RMSE", 69_858, scores["linear"][0],
                   0.05 * 69_858, "{:,.0f}", lower_is_better=True),
        Comparison("DecisionTree 10-fold CV RMSE", 66_868, scores["tree"][0], 0.05 * 66_868,
                   "{:,.0f}", lower_is_better=True),
        Comparison("RandomForest 10-fold CV RMSE", 47_019, scores["forest"][0], 0.03 * 47_019,
                   "{:,.0f}", lower_is_better=True),
        Comparison("RandomForest CV std", 1_034, scores["forest"][1], 1_500, "{:,.0f}"),
    ], [
        "the pipeline is mlpilot's automatic one (prepare.py), not hand-written, without "
        f"its neighbour blocks ({', '.join(dropped)}): "
        f"ratios chosen by CV ({ratios}); logs on {', '.join(plan.with_treatment('log'))}; "
        f"cluster similarity on {plan.geo_pairs}; one-hot on "
        f"{', '.join(plan.with_treatment('onehot'))}",
        "tolerances: 3 % for the forest (the issue's target), 5 % for the other models "
        "(a lower error than the book's counts as a pass); the book hand-picks 3 ratios where "
        "mlpilot keeps each ratio of counts that a quick CV says helps on its own (all six "
        "candidates on housing), so the ratio count (and the total) may differ by up to "
        "three",
    ])


RECIPE = Recipe("ch02-housing-pipeline", 2,
                "The automatic preprocessing vs the book's pipeline: 24 features, CV RMSEs", run)
