"""Chapter 1, Example 1-1: life satisfaction from GDP per capita (linear model and kNN)."""

from __future__ import annotations

from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor

from mlpilot.data.catalog import load_dataset
from mlpilot.recipes.base import Comparison, Recipe, RecipeResult

CYPRUS_GDP = 37_655.2


def run() -> RecipeResult:
    lifesat = load_dataset("lifesat")
    X = lifesat[["GDP per capita (USD)"]].to_numpy()
    y = lifesat[["Life satisfaction"]].to_numpy()
    linear = LinearRegression().fit(X, y)
    knn = KNeighborsRegressor(n_neighbors=3).fit(X, y)
    theta0, theta1 = float(linear.intercept_[0]), float(linear.coef_[0, 0])
    return RecipeResult("ch01-lifesat", [
        Comparison("θ0 (intercept)", 3.75, theta0, 0.005, "{:.2f}"),
        Comparison("θ1 (slope)", 6.78e-5, theta1, 0.005e-5, "{:.3e}"),
        Comparison("linear: Cyprus life satisfaction", 6.30,
                   float(linear.predict([[CYPRUS_GDP]])[0, 0]), 0.005, "{:.2f}"),
        Comparison("kNN (k=3): Cyprus life satisfaction", 6.33,
                   float(knn.predict([[CYPRUS_GDP]])[0, 0]), 0.005, "{:.2f}"),
    ], [f"{len(lifesat)} countries from lifesat.csv"])


RECIPE = Recipe("ch01-lifesat", 1, "Life satisfaction vs GDP: linear model and 3-NN (Example 1-1)",
                run)
