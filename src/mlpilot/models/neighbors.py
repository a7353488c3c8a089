"""k-nearest neighbours (Chapter 3's MNIST exercise, Chapter 2's closing remark).

``weights="distance"`` and five neighbours: the book's grid search on MNIST picks distance
weighting (with 4 neighbours); 5 is scikit-learn's default and a steadier choice on small
tables. The search covers ``n_neighbors`` on a log scale, both weightings and the Manhattan /
Euclidean distances. kNN handles multilabel targets natively. Predicting costs a scan of the
training set per row and distances lose meaning in many dimensions, so the default shortlist
leaves it out on very large or very wide tables.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from mlpilot.models.space import Categorical, Int
from mlpilot.models.zoo import Candidate


def build_knn(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return KNeighborsRegressor(n_neighbors=5, weights="distance", n_jobs=1)
    return KNeighborsClassifier(n_neighbors=5, weights="distance", n_jobs=1)


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("knn", "neighbors", 10, build_knn,
              space={"n_neighbors": Int(1, 50, log=True),
                     "weights": Categorical(("uniform", "distance")),
                     "p": Categorical((1, 2))},
              row_limit=200_000, feature_limit=200, key_param="n_neighbors",
              summary="k-nearest neighbours"),
)
