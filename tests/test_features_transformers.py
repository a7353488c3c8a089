"""Tests of the chapter-2 feature transformers (mlpilot.features.transformers)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlpilot.features.neighbors import (
    NeighborMeans,
    NeighborTarget,
    NeighborTrend,
    RotatedCoordinates,
)
from mlpilot.features.transformers import (
    Bucketizer,
    ClusterSimilarity,
    KNNOutOfFoldFeature,
    LogTransformer,
    RatioFeatures,
    RBFSimilarity,
)

INCOME_EDGES = [0.0, 1.5, 3.0, 4.5, 6.0, np.inf]


@pytest.fixture
def housing() -> pd.DataFrame:
    """A small California-housing look-alike (same column names and rough ranges)."""
    rng = np.random.default_rng(42)
    n = 300
    rooms = rng.integers(200, 6000, n).astype(float)
    households = np.maximum(1.0, rooms / rng.uniform(3, 8, n)).round()
    return pd.DataFrame(
        {
            "longitude": rng.uniform(-124.3, -114.3, n),
            "latitude": rng.uniform(32.5, 42.0, n),
            "housing_median_age": rng.integers(1, 53, n).astype(float),
            "total_rooms": rooms,
            "total_bedrooms": (rooms * rng.uniform(0.1, 0.3, n)).round(),
            "population": rng.lognormal(7, 0.8, n).round(),
            "households": households,
            "median_income": rng.lognormal(1.2, 0.5, n),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )


# --- scikit-learn's own estimator checks -------------------------------------------------

CHECKED_ESTIMATORS: list[BaseEstimator] = [
    ClusterSimilarity(n_clusters=3, gamma=1.0, random_state=0),
    RatioFeatures(pairs=[(0, 1)]),
    RatioFeatures(pairs=[(0, 1), (1, 0)], names=["a_per_b", "b_per_a"]),
    LogTransformer(),
    LogTransformer(offset=1.0),
    RBFSimilarity(gamma=0.1),
    Bucketizer(n_bins=3),
    Bucketizer(edges=[-1.0, 0.0, 1.0, 2.0], encode="onehot"),
    KNNOutOfFoldFeature(n_neighbors=3, cv=3, random_state=0),
    NeighborTarget(n_neighbors=(1, 3)),
    NeighborTarget(n_neighbors=3, weights="uniform"),
    NeighborTarget(n_neighbors=(2, 3), statistics=("mean", "median", "std"),
                   target_type="continuous"),
    NeighborMeans(n_neighbors=3),
    NeighborTrend(n_neighbors=(2, 3)),
    RotatedCoordinates(),
]


def _expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    if isinstance(estimator, ClusterSimilarity):
        # scikit-learn marks the same check as an expected failure for KMeans itself
        # (sklearn/utils/_test_common/instance_generator.py); ClusterSimilarity inherits it.
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "KMeans's sample_weight is not equivalent to removing/repeating samples "
                "(k-means++ seeding and the Lloyd iterations see a different data set)"
            ),
        }
    if isinstance(estimator, NeighborMeans):
        reason = ("leave-one-out on the training rows: fit_transform(X) differs from "
                  "fit(X).transform(X) on purpose (as NeighborTarget's)")
        return {"check_transformer_general": reason,
                "check_transformer_general(readonly_memmap=True)": reason,
                "check_transformer_data_not_an_array": reason}
    if isinstance(estimator, NeighborTrend):
        reason = "needs two coordinates and a value column; the check feeds it two columns"
        return {name: reason for name in (
            "check_estimators_overwrite_params", "check_estimators_fit_returns_self",
            "check_readonly_memmap_input", "check_fit_idempotent", "check_fit_check_is_fitted",
            "check_n_features_in")}
    if isinstance(estimator, RotatedCoordinates):
        reason = "takes exactly one (x, y) pair of columns; the check feeds it more"
        return {name: reason for name in (
            "check_transformer_general", "check_transformer_preserve_dtypes",
            "check_methods_sample_order_invariance", "check_methods_subset_invariance",
            "check_fit2d_1sample", "check_dict_unchanged", "check_fit2d_predict1d",
            "check_fit_score_takes_y", "check_dont_overwrite_parameters",
            "check_n_features_in_after_fitting", "check_positive_only_tag_during_fit",
            "check_estimators_dtypes", "check_dtype_object", "check_pipeline_consistency",
            "check_estimators_pickle", "check_f_contiguous_array_estimator",
            "check_transformer_data_not_an_array")}
    return {}


@parametrize_with_checks(CHECKED_ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator: BaseEstimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


# --- ClusterSimilarity ---------------------------------------------------------------------


def test_cluster_similarity_shape_and_range(housing: pd.DataFrame) -> None:
    geo = housing[["latitude", "longitude"]]
    sim = ClusterSimilarity(n_clusters=5, gamma=1.0, random_state=42).fit_transform(geo)
    assert sim.shape == (len(geo), 5)
    assert np.all(sim > 0) and np.all(sim <= 1)
    # every row is closest to some centre, so each row's best similarity is large-ish
    assert np.all(sim.max(axis=1) > np.exp(-1.0 * 6**2))


def test_cluster_similarity_sample_weight_moves_centres(housing: pd.DataFrame) -> None:
    geo = housing[["latitude", "longitude"]]
    # the book weights by the target; here the northern districts are "expensive"
    weight = np.where(housing["latitude"] > 39.0, 100.0, 1.0)
    plain = ClusterSimilarity(n_clusters=5, random_state=0).fit(geo)
    weighted = ClusterSimilarity(n_clusters=5, random_state=0)
    # the book's call: cluster_simil.fit_transform(X, sample_weight=housing_labels)
    weighted.fit_transform(geo, sample_weight=weight)
    plain_lat = plain.kmeans_.cluster_centers_[:, 0]
    weighted_lat = weighted.kmeans_.cluster_centers_[:, 0]
    assert not np.allclose(np.sort(plain_lat), np.sort(weighted_lat))
    assert (weighted_lat > 39.0).sum() > (plain_lat > 39.0).sum()


def test_cluster_similarity_pandas_output(housing: pd.DataFrame) -> None:
    geo = housing[["latitude", "longitude"]]
    cs = ClusterSimilarity(n_clusters=3, gamma=1.0, random_state=42).set_output(transform="pandas")
    out = cs.fit_transform(geo)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"Cluster {i} similarity" for i in range(3)]
    assert out.index.equals(geo.index)
    assert list(cs.feature_names_in_) == ["latitude", "longitude"]


# --- RatioFeatures -------------------------------------------------------------------------


def test_ratio_book_two_columns(housing: pd.DataFrame) -> None:
    cols = housing[["total_bedrooms", "total_rooms"]]
    ratio = RatioFeatures().set_output(transform="pandas").fit_transform(cols)
    assert list(ratio.columns) == ["ratio"]
    expected = housing["total_bedrooms"] / housing["total_rooms"]
    np.testing.assert_allclose(ratio["ratio"].to_numpy(), expected.to_numpy())


def test_ratio_pairs_by_name_and_names(housing: pd.DataFrame) -> None:
    pairs = [("total_bedrooms", "total_rooms"), ("total_rooms", "households")]
    default = RatioFeatures(pairs=pairs).fit(housing)
    assert list(default.get_feature_names_out()) == [
        "total_bedrooms_per_total_rooms",
        "total_rooms_per_households",
    ]
    named = RatioFeatures(pairs=pairs, names=["bedrooms_ratio", "rooms_per_house"])
    out = named.set_output(transform="pandas").fit_transform(housing)
    assert list(out.columns) == ["bedrooms_ratio", "rooms_per_house"]
    np.testing.assert_allclose(
        out["rooms_per_house"], housing["total_rooms"] / housing["households"]
    )


def test_ratio_numpy_names_use_indices() -> None:
    X = np.array([[1.0, 2.0, 4.0], [3.0, 6.0, 1.0]])
    rf = RatioFeatures(pairs=[(0, 1), (2, -2)]).fit(X)
    assert list(rf.get_feature_names_out()) == ["x0_per_x1", "x2_per_x1"]
    np.testing.assert_allclose(rf.transform(X), [[0.5, 2.0], [0.5, 1 / 6]])


def test_ratio_zero_denominator_is_nan_not_inf() -> None:
    X = np.array([[1.0, 0.0], [0.0, 0.0], [-2.0, 0.0], [3.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero RuntimeWarning either
        out = RatioFeatures().fit_transform(X)
    assert np.isnan(out[:3, 0]).all()
    assert out[3, 0] == 1.5
    assert not np.isinf(out).any()


def test_ratio_bad_configuration_raises() -> None:
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match="exactly 2 columns"):
        RatioFeatures().fit(X)
    with pytest.raises(ValueError, match="no column names"):
        RatioFeatures(pairs=[("a", "b")]).fit(X)
    with pytest.raises(ValueError, match="names has 2 entries"):
        RatioFeatures(pairs=[(0, 1)], names=["a", "b"]).fit(X)


# --- LogTransformer ------------------------------------------------------------------------


def test_log_auto_offset_handles_zeros() -> None:
    X = pd.DataFrame({"with_zero": [0.0, 1.0, 10.0, 100.0], "positive": [1.0, 2.0, 5.0, 9.0]})
    lt = LogTransformer().set_output(transform="pandas")
    out = lt.fit_transform(X)
    np.testing.assert_array_equal(lt.offsets_, [1.0, 0.0])
    np.testing.assert_allclose(out["with_zero"], np.log1p(X["with_zero"]))
    np.testing.assert_allclose(out["positive"], np.log(X["positive"]))
    assert np.isfinite(out.to_numpy()).all()
    assert list(out.columns) == ["with_zero", "positive"]


def test_log_inverse_round_trip(housing: pd.DataFrame) -> None:
    X = housing[["population", "households", "total_rooms"]].copy()
    X.iloc[0, 0] = 0.0
    lt = LogTransformer().fit(X)
    back = lt.inverse_transform(lt.transform(X))
    np.testing.assert_allclose(back, X.to_numpy(), rtol=1e-10, atol=1e-10)


def test_log_negative_input_raises() -> None:
    lt = LogTransformer().fit(np.array([[1.0], [2.0]]))
    with pytest.raises(ValueError, match=r"Negative values .*transform"):
        lt.transform(np.array([[-1.0]]))
    with pytest.raises(ValueError, match=r"Negative values .*fit"):
        LogTransformer().fit(np.array([[1.0], [-2.0]]))


def test_log_zero_in_log_column_at_transform_raises() -> None:
    lt = LogTransformer().fit(pd.DataFrame({"population": [3.0, 50.0]}))
    with pytest.raises(ValueError, match="population"):
        lt.transform(pd.DataFrame({"population": [0.0]}))


# --- RBFSimilarity -------------------------------------------------------------------------


def test_rbf_matches_book_age_similarity(housing: pd.DataFrame) -> None:
    age = housing[["housing_median_age"]]
    rbf = RBFSimilarity(points=[[35]], gamma=0.1).set_output(transform="pandas")
    out = rbf.fit_transform(age)
    assert list(out.columns) == ["housing_median_age_rbf_35"]
    np.testing.assert_allclose(out.to_numpy(), rbf_kernel(age, [[35]], gamma=0.1))
    # a flat list of values is accepted for a single column
    two = RBFSimilarity(points=[35, 2.5], gamma=0.1).fit(age)
    assert list(two.get_feature_names_out()) == [
        "housing_median_age_rbf_35",
        "housing_median_age_rbf_2.5",
    ]


def test_rbf_multi_feature_points_and_shape_error(housing: pd.DataFrame) -> None:
    geo = housing[["latitude", "longitude"]]
    sf, la = [37.77, -122.42], [34.05, -118.24]
    rbf = RBFSimilarity(points=[sf, la], gamma=0.5).fit(geo)
    assert list(rbf.get_feature_names_out()) == ["rbf_similarity_0", "rbf_similarity_1"]
    np.testing.assert_allclose(rbf.transform(geo), rbf_kernel(geo, [sf, la], gamma=0.5))
    with pytest.raises(ValueError, match="n_features=2"):
        RBFSimilarity(points=[35]).fit(geo)


# --- Bucketizer ----------------------------------------------------------------------------


def test_bucketizer_book_income_cat_matches_pd_cut(housing: pd.DataFrame) -> None:
    income = housing[["median_income"]]
    income_cat = pd.cut(housing["median_income"], bins=INCOME_EDGES, labels=[1, 2, 3, 4, 5])
    out = Bucketizer(edges=INCOME_EDGES).set_output(transform="pandas").fit_transform(income)
    assert list(out.columns) == ["median_income"]
    np.testing.assert_array_equal(out["median_income"], income_cat.astype(int) - 1)
    # edges themselves fall in the bucket they close, as with pd.cut: (1.5, 3.0] etc.
    edges_only = (
        Bucketizer(edges=INCOME_EDGES)
        .fit(income)
        .transform(pd.DataFrame({"median_income": [1.5, 1.5001, 3.0, 6.0, 6.1]}))
    )
    np.testing.assert_array_equal(edges_only[:, 0], [0, 1, 1, 3, 4])


def test_bucketizer_out_of_range_is_clipped_and_onehot() -> None:
    X = pd.DataFrame({"a": [-5.0, 0.5, 2.5, 10.0], "b": [0.0, 1.0, 2.0, 3.0]})
    bz = Bucketizer(edges={"a": [0, 1, 2, 3], "b": [0, 1.5, 3]}).fit(X)
    np.testing.assert_array_equal(bz.transform(X), [[0, 0], [0, 0], [2, 1], [2, 1]])
    onehot = clone(bz).set_params(encode="onehot").set_output(transform="pandas")
    out = onehot.fit_transform(X)
    assert list(out.columns) == ["a_0", "a_1", "a_2", "b_0", "b_1"]
    np.testing.assert_array_equal(out.sum(axis=1), 2)


def test_bucketizer_learned_quantile_bins(housing: pd.DataFrame) -> None:
    income = housing[["median_income"]]
    codes = Bucketizer(n_bins=5).fit_transform(income)[:, 0]
    counts = np.bincount(codes.astype(int))
    assert len(counts) == 5 and counts.min() >= 55 and counts.max() <= 65


def test_bucketizer_missing_column_edges_raises() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0]})
    with pytest.raises(ValueError, match="no entry for column"):
        Bucketizer(edges={"a": [0, 1, 3]}).fit(X)


# --- KNNOutOfFoldFeature -------------------------------------------------------------------


@pytest.fixture
def knn_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, size=(120, 2))  # duplicate-free points (continuous uniform)
    y = np.sin(X[:, 0]) + X[:, 1] + rng.normal(0, 0.3, 120)
    return X, y


def test_knn_oof_is_not_in_sample_prediction(knn_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = knn_data
    knn = KNNOutOfFoldFeature(n_neighbors=1, cv=5, random_state=0)
    # the leaky version: with 1 neighbour the in-sample prediction is the row's own target
    in_sample = clone(knn).fit(X, y).transform(X)[:, 0]
    np.testing.assert_array_equal(in_sample, y)
    oof = knn.fit_transform(X, y)[:, 0]
    assert oof.shape == y.shape
    assert not np.any(oof == y)


def test_knn_own_target_does_not_reach_own_feature(
    knn_data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = knn_data
    knn = KNNOutOfFoldFeature(n_neighbors=5, cv=5, random_state=0)
    base = knn.fit_transform(X, y)[:, 0]
    for i in (0, 17, 63, 119):
        y_changed = y.copy()
        y_changed[i] += 1000.0
        changed = clone(knn).fit_transform(X, y_changed)[:, 0]
        assert changed[i] == base[i]  # a leaky feature would move by 1000 / 5 = 200
        assert np.abs(changed - base).max() > 100  # ...while it does reach other rows


def test_knn_transform_uses_regressor_fit_on_all_rows(
    knn_data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = knn_data
    X_new = np.array([[1.0, 1.0], [5.0, 9.0]])
    knn = KNNOutOfFoldFeature(n_neighbors=3, weights="distance", random_state=0)
    knn.fit_transform(X, y)
    expected = KNeighborsRegressor(n_neighbors=3, weights="distance").fit(X, y).predict(X_new)
    np.testing.assert_allclose(knn.transform(X_new)[:, 0], expected)


def test_knn_requires_y(knn_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = knn_data
    with pytest.raises(ValueError, match="requires y"):
        KNNOutOfFoldFeature().fit(X)
    with pytest.raises(ValueError, match="requires y"):
        KNNOutOfFoldFeature().fit_transform(X)


def test_knn_in_column_transformer_uses_out_of_fold(housing: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    y = housing["median_income"].to_numpy() * 50_000 + rng.normal(0, 1000, len(housing))
    geo = ["latitude", "longitude"]
    params = {"n_neighbors": 1, "cv": 4, "random_state": 0}
    ct = ColumnTransformer([("geo", KNNOutOfFoldFeature(**params), geo)])
    out = ct.set_output(transform="pandas").fit_transform(housing, y)
    assert list(out.columns) == ["geo__knn_prediction"]
    assert out.index.equals(housing.index)
    oof = KNNOutOfFoldFeature(**params).fit_transform(housing[geo], y)[:, 0]
    np.testing.assert_allclose(out["geo__knn_prediction"], oof)
    assert not np.any(out["geo__knn_prediction"].to_numpy() == y)


# --- all together, as the book's preprocessing ColumnTransformer ---------------------------


def test_feature_names_in_column_transformer_pandas(housing: pd.DataFrame) -> None:
    heavy = ["total_rooms", "total_bedrooms", "population", "households", "median_income"]
    preprocessing = ColumnTransformer(
        [
            ("bedrooms", RatioFeatures(), ["total_bedrooms", "total_rooms"]),
            ("rooms_per_house", RatioFeatures(), ["total_rooms", "households"]),
            ("log", make_pipeline(LogTransformer(), StandardScaler()), heavy),
            ("geo", ClusterSimilarity(n_clusters=3, random_state=42), ["latitude", "longitude"]),
            ("age", RBFSimilarity(points=[[35]], gamma=0.1), ["housing_median_age"]),
            ("income_cat", Bucketizer(edges=INCOME_EDGES), ["median_income"]),
        ]
    ).set_output(transform="pandas")
    out = preprocessing.fit_transform(housing)
    expected = [
        "bedrooms__ratio",
        "rooms_per_house__ratio",
        *[f"log__{c}" for c in heavy],
        "geo__Cluster 0 similarity",
        "geo__Cluster 1 similarity",
        "geo__Cluster 2 similarity",
        "age__housing_median_age_rbf_35",
        "income_cat__median_income",
    ]
    assert list(out.columns) == expected
    assert list(preprocessing.get_feature_names_out()) == expected
    assert out.shape == (len(housing), len(expected))
    assert np.isfinite(out.to_numpy()).all()


# --- NeighborTarget and RotatedCoordinates -------------------------------------------------


def test_neighbor_target_never_sees_own_target() -> None:
    # each row's target is unique and far from its neighbours': with itself excluded, the
    # feature of a training row is exactly the mean of the *other* k nearest rows' targets
    X = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])
    y = np.array([100.0, 0.0, 10.0, 20.0])
    feat = NeighborTarget(n_neighbors=1, weights="uniform").fit_transform(X, y)[:, 0]
    assert feat[[0, 3]].tolist() == [0.0, 10.0]  # unambiguous nearest others
    assert 100.0 not in feat[[0]] and feat[1] in (100.0, 10.0)
    # a new row at a training row's place does use that row
    fitted = NeighborTarget(n_neighbors=1, weights="uniform").fit(X, y)
    assert fitted.transform(np.array([[0.0, 0.0]]))[0, 0] == 100.0


def test_neighbor_means_describe_the_neighbourhood_without_the_row() -> None:
    # coordinates, then one value: each training row sees its two nearest *other* rows
    X = np.array([[0.0, 0.0, 10.0], [0.0, 1.0, 20.0], [0.0, 2.0, 30.0], [0.0, 9.0, 90.0]])
    nm = NeighborMeans(n_neighbors=2)
    out = nm.fit_transform(X)
    assert out[0].tolist() == [1.5, 25.0, -15.0]  # distances 1, 2; rows 1 and 2; 10 - 25
    assert out[3, 1] == 25.0  # rows 2 and 1 (not itself)
    assert nm.get_feature_names_out(["lat", "lon", "income"]).tolist() == [
        "near_distance", "near_income", "vs_near_income"]
    # a new row at a training row's place does see that row
    assert nm.transform(np.array([[0.0, 0.0, 10.0]]))[0, 1] == 15.0
    with pytest.raises(ValueError, match="two coordinates"):
        NeighborMeans().fit(X[:, :1])


def test_neighbor_trend_reads_the_local_line_at_the_rows_value() -> None:
    """Two areas where price rises with income at different rates: each row's trend is
    its own area's line read at its own income, from the other rows only."""
    rng = np.random.default_rng(0)
    n = 200
    area = np.repeat([0.0, 10.0], n // 2)  # two far-apart places
    place = np.column_stack([area + rng.uniform(0, 1, n), rng.uniform(0, 1, n)])
    income = rng.uniform(1, 10, n)
    slope = np.where(area == 0, 5.0, 50.0)
    y = 100 + slope * income
    X = np.column_stack([place, income])
    trend = NeighborTrend(n_neighbors=40, shrinkage=0.0)
    out = trend.fit_transform(X, y)
    assert trend.get_feature_names_out(["lat", "lon", "income"]).tolist() == [
        "trend_k40_by_income", "trend_k40_by_income_slope", "trend_k40_by_income_spread"]
    np.testing.assert_allclose(out[:, 0], y, rtol=1e-9)  # exact lines, own row left out
    np.testing.assert_allclose(out[:, 1], slope, rtol=1e-9)
    np.testing.assert_allclose(out[:, 2], 0.0, atol=1e-9)
    # the plain neighbours' mean misses a row's own income; the trend does not
    mean = NeighborTarget(n_neighbors=40, weights="uniform").fit_transform(place, y)[:, 0]
    assert np.abs(mean - y).mean() > 50
    # shrinkage pulls the slope towards 0 (the mean), and new rows are read the same way
    shrunk = NeighborTrend(n_neighbors=40, shrinkage=10.0).fit(X, y)
    new = shrunk.transform(X[:5])
    assert (np.abs(new[:, 1]) < np.abs(slope[:5])).all()
    with pytest.raises(ValueError, match="two coordinates"):
        NeighborTrend().fit(place, y)
    with pytest.raises(ValueError, match="requires y"):
        NeighborTrend().fit(X)


def test_neighbor_target_drops_self_among_duplicates() -> None:
    X = np.zeros((5, 2))  # five rows at the same place: ties everywhere
    y = np.arange(5, dtype=float)
    feat = NeighborTarget(n_neighbors=4, weights="uniform").fit_transform(X, y)[:, 0]
    expected = (y.sum() - y) / 4
    np.testing.assert_allclose(feat, expected)


def test_neighbor_target_median_and_spread() -> None:
    # the two streets have the same mean price; only the median and the spread tell them apart
    even = [[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0]]
    mixed = [[9.0, 0.0], [9.0, 1.0], [9.0, 2.0], [9.0, 3.0]]
    X = np.array(even + mixed)
    y = np.array([100.0, 100.0, 100.0, 100.0, 10.0, 10.0, 10.0, 370.0])
    nt = NeighborTarget(n_neighbors=4, weights="uniform", statistics=("mean", "median", "std"))
    nt.fit(X, y)
    out = nt.transform(np.array([[0.0, 1.5], [9.0, 1.5]]))
    assert out[:, 0].tolist() == [100.0, 100.0]  # same mean
    assert out[:, 1].tolist() == [100.0, 10.0]  # median
    assert out[0, 2] == 0.0 and out[1, 2] > 150  # spread
    assert nt.get_feature_names_out(["lat", "lon"]).tolist() == [
        "neighbors_k4", "neighbors_k4_median", "neighbors_k4_std"]
    with pytest.raises(ValueError, match="continuous target"):
        NeighborTarget(statistics=("mean", "std")).fit(X, (y > 50).astype(int))
    with pytest.raises(ValueError, match="statistics must name"):
        NeighborTarget(statistics=("mode",)).fit(X, y)


def test_neighbor_target_classification_shares() -> None:
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    y = np.array(["a", "a", "a", "b", "b", "b"])
    nt = NeighborTarget(n_neighbors=2, weights="uniform")
    feat = nt.fit_transform(X, y)
    assert feat[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]  # share of "b"
    assert nt.get_feature_names_out().tolist() == ["neighbors_k2"]
    y3 = np.array(["a", "a", "b", "b", "c", "c"])
    nt3 = NeighborTarget(n_neighbors=(1, 2)).fit(X, y3)
    assert nt3.get_feature_names_out().tolist() == [
        "neighbors_k1_a", "neighbors_k1_b", "neighbors_k1_c",
        "neighbors_k2_a", "neighbors_k2_b", "neighbors_k2_c"]
    assert nt3.transform(X).shape == (6, 6)


def test_neighbor_target_value_weight_finds_neighbours_alike() -> None:
    """Two kinds of district share every place; the price follows the kind. By place alone
    the neighbours mix both kinds; with the value column weighed in they are the same kind."""
    rng = np.random.default_rng(0)
    n = 400
    place = rng.uniform(0, 10, size=(n, 2))
    kind = rng.integers(0, 2, n).astype(float)
    y = 100.0 * kind + place[:, 0] + rng.normal(scale=1.0, size=n)
    X = np.column_stack([place, 50.0 * kind])  # a value on another scale than the places
    by_place = NeighborTarget(n_neighbors=5).fit_transform(place, y)[:, 0]
    alike = NeighborTarget(n_neighbors=5, value_weight=0.25)
    by_kind = alike.fit_transform(X, y)[:, 0]
    error = {name: float(np.sqrt(np.mean((feat - y) ** 2)))
             for name, feat in (("place", by_place), ("alike", by_kind))}
    assert error["alike"] < 10 < 40 < error["place"], error
    assert alike.get_feature_names_out(["lat", "lon", "income"]).tolist() == [
        "neighbors_k5_by_income"]
    new = np.array([[5.0, 5.0, 50.0], [5.0, 5.0, 0.0]])
    assert alike.transform(new)[:, 0] == pytest.approx([105, 5], abs=6)
    with pytest.raises(ValueError, match="value column"):
        NeighborTarget(value_weight=0.25).fit(place, y)
    with pytest.raises(ValueError, match="value_weight"):
        NeighborTarget(value_weight=-1.0).fit(X, y)


def test_neighbor_target_helps_a_model_on_housing(data_home) -> None:  # type: ignore[no-untyped-def]
    """The leave-one-out feature helps boosted trees predict held-out districts."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import cross_val_score

    housing = pd.read_csv(data_home / "housing" / "housing.csv")
    data = housing.dropna().sample(6000, random_state=0)
    y = data["median_house_value"]
    geo = ["latitude", "longitude"]
    X = data[["median_income", "housing_median_age", *geo]]
    plain = HistGradientBoostingRegressor(max_iter=100, random_state=0)
    with_feature = make_pipeline(
        ColumnTransformer([("nb", NeighborTarget(n_neighbors=(5, 15)), geo)],
                          remainder="passthrough"),
        HistGradientBoostingRegressor(max_iter=100, random_state=0))
    base = -cross_val_score(plain, X, y, cv=3, scoring="neg_root_mean_squared_error").mean()
    better = -cross_val_score(with_feature, X, y, cv=3,
                              scoring="neg_root_mean_squared_error").mean()
    assert better < 0.985 * base


def test_rotated_coordinates() -> None:
    X = pd.DataFrame({"lon": [1.0, 0.0], "lat": [0.0, 1.0]})
    rot = RotatedCoordinates(angles=(0, 90)).fit(X)
    np.testing.assert_allclose(rot.transform(X), [[1.0, 0.0], [0.0, 1.0]], atol=1e-12)
    assert rot.get_feature_names_out().tolist() == ["lon_lat_rot0", "lon_lat_rot90"]
    with pytest.raises(ValueError, match="n_features = 3"):
        RotatedCoordinates().fit(np.zeros((3, 3)))
