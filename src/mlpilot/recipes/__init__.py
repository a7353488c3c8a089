"""Scripted reproductions of the book's runs: each prints the book's figure beside ours.

Add a recipe: write ``chNN_topic.py`` with a ``RECIPE = Recipe(...)`` and list it below.
"""

from __future__ import annotations

from mlpilot.errors import RecipeError
from mlpilot.recipes import (
    ch01_lifesat,
    ch02_housing_forest,
    ch02_housing_pipeline,
    ch02_housing_split,
    ch02_housing_test_ci,
    ch03_classification,
    ch07_ensembles,
    ch08_reduction,
    ch09_anomalies,
    ch09_dbscan,
    ch09_gmm,
    ch09_kmeans,
    ch09_segmentation,
    ch09_semi_supervised,
    ch10_fashion_mlp,
    ch10_wide_deep,
    ch11_1cycle,
    ch11_mc_dropout,
    ch12_custom_huber,
)
from mlpilot.recipes.base import Comparison, Recipe, RecipeResult

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (ch01_lifesat.RECIPE, ch02_housing_split.RECIPE, ch02_housing_pipeline.RECIPE,
              ch02_housing_forest.RECIPE, ch02_housing_test_ci.RECIPE,
              ch03_classification.RECIPE, ch07_ensembles.RECIPE, ch08_reduction.RECIPE,
              ch09_kmeans.RECIPE, ch09_dbscan.RECIPE, ch09_gmm.RECIPE, ch09_anomalies.RECIPE,
              ch09_semi_supervised.RECIPE, ch09_segmentation.RECIPE,
              ch10_fashion_mlp.RECIPE, ch10_wide_deep.RECIPE,
              ch11_mc_dropout.RECIPE, ch11_1cycle.RECIPE, ch12_custom_huber.RECIPE)
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe {name!r}",
                          f"choose one of: {', '.join(RECIPES)} (see `mlpilot recipe list`)")
    return RECIPES[name]


__all__ = ["RECIPES", "Comparison", "Recipe", "RecipeResult", "get_recipe"]
