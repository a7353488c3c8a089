"""Clustering (book ch. 9): the book's numbers, choosing k, new rows, streaming, reports, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from sklearn.cluster import MiniBatchKMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.utils.estimator_checks import parametrize_with_checks
from typer.testing import CliRunner

from cli_apps import single_command_app
from mlpilot.errors import UnsupervisedError
from mlpilot.recipes import ch09_dbscan, ch09_gmm, ch09_kmeans, ch09_segmentation
from mlpilot.recipes.book_data import ellipsoids
from mlpilot.unsupervised.cluster import (
    DensityClusterAssigner,
    assign_rows,
    cluster,
    knee_index,
    label_agreement,
    load_cluster_model,
    stream_kmeans,
)
from mlpilot.unsupervised.profiles import cluster_profiles
from mlpilot.unsupervised.segment import load_image, segment, segment_image
from mlpilot.unsupervised.streaming import open_batches, write_memmap

runner = CliRunner()


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    return ch09_kmeans.blobs()


@pytest.fixture(scope="module")
def moons() -> np.ndarray:
    return make_moons(n_samples=1000, noise=0.05, random_state=42)[0]


def _table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Three groups: two numeric columns, a city over-represented in group 2, a label."""
    X, y = make_blobs(n_samples=n, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=0.7,
                      random_state=seed)
    rng = np.random.default_rng(seed)
    city = np.where(y == 2, "Paris", rng.choice(["Lyon", "Nice", "Lille"], size=n))
    return pd.DataFrame({"income": X[:, 0] * 10 + 50, "age": X[:, 1] * 5 + 40,
                         "noise": rng.normal(size=n), "city": city,
                         "segment": [f"s{v}" for v in y]})


# --------------------------------------------------------------------------- the book
@pytest.mark.parametrize("recipe", [ch09_kmeans.RECIPE, ch09_dbscan.RECIPE, ch09_gmm.RECIPE],
                         ids=lambda r: r.name)
def test_recipes_match_the_book(recipe) -> None:  # type: ignore[no-untyped-def]
    result = recipe.run()
    failures = [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
    assert not failures
    assert len(result.comparisons) >= 8


@pytest.mark.slow
def test_segmentation_recipe_keeps_the_colour_counts() -> None:
    result = ch09_segmentation.RECIPE.run()
    assert result.ok and any("ladybug" in note for note in result.notes)


# --------------------------------------------------------------------------- choosing k
def test_kmeans_chooses_k_by_silhouette_and_reports_the_elbow(blobs: np.ndarray) -> None:
    result = cluster(blobs)
    assert result.n_clusters == 4 and result.chosen_by == "silhouette"
    assert result.elbow == 4
    assert result.scores is not None and list(result.scores["k"]) == list(range(2, 11))
    assert result.scores["inertia"].is_monotonic_decreasing
    text = " ".join(result.summary())
    assert "elbow is at k = 4" in text and "k = 5 (0.635) is close" in text
    assert {3, 4, 5, 6} <= set(result.labels_by_k)  # the book's silhouette diagrams


def test_elbow_different_from_chosen_k_is_said() -> None:
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame
    result = cluster(iris, label="target")
    assert result.n_clusters == 2 and result.elbow is not None and result.elbow > 2
    assert any(f"elbow is at k = {result.elbow}, not at the chosen k = 2" in line
               for line in result.summary())
    assert result.agreement is not None and result.agreement.label_name == "target"


def test_gmm_chooses_k_by_bic() -> None:
    X = ellipsoids()
    result = cluster(X, method="gmm", k_range=range(1, 6))
    assert result.n_clusters == 3 and result.chosen_by == "bic"
    assert result.scores is not None and {"bic", "aic"} <= set(result.scores.columns)
    assert result.bic == pytest.approx(float(result.scores["bic"].min()))


def test_dbscan_takes_eps_at_the_knee(moons: np.ndarray) -> None:
    result = cluster(moons, method="dbscan")
    assert result.chosen_by == "knee" and result.eps is not None and 0.03 < result.eps < 0.2
    assert result.n_clusters == 2
    assert result.kdistances is not None and np.all(np.diff(result.kdistances) >= 0)


def test_knee_of_a_falling_curve() -> None:
    inertia = [1000, 400, 100, 90, 80, 72, 65]
    assert knee_index(inertia, range(1, 8)) == 2


# --------------------------------------------------------------------------- new rows
def test_kmeans_assigns_new_rows_like_predict(blobs: np.ndarray) -> None:
    result = cluster(blobs, k=5)
    X_new = np.array([[0, 2], [3, 2], [-3, 3], [-3, 2.5]])
    labels = result.assign(X_new)
    assert list(labels) == list(result.estimator.predict(X_new))
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]


def test_gmm_assigns_new_rows() -> None:
    X = ellipsoids()
    result = cluster(X, method="gmm", k=3)
    labels = result.assign(result.estimator.means_)
    assert sorted(labels) == [0, 1, 2]  # each mean belongs to its own component


def test_dbscan_new_rows_beyond_max_distance_are_noise(tmp_path: Path, moons: np.ndarray
                                                       ) -> None:
    result = cluster(moons, method="dbscan", eps=0.2, max_distance=0.2)
    X_new = np.array([[-0.5, 0], [0, 0.5], [1, -0.1], [2, 1]])
    assert list(result.assign(X_new)) == [-1, 0, 1, -1]
    assert list(result.model.predict(X_new)) == [-1, 0, 1, -1]
    saved = load_cluster_model(result.save_model(tmp_path / "db.skops"))
    assert list(assign_rows(saved, X_new)) == [-1, 0, 1, -1]


def test_saved_model_holds_the_feature_transformer(tmp_path: Path) -> None:
    table = _table()
    result = cluster(table, k=3, label="segment")
    assert "segment" not in result.features.columns  # the label is never a feature
    path = result.save_model(tmp_path / "cluster-model.skops")
    model = load_cluster_model(path)
    new = table.sample(20, random_state=1).drop(columns=["segment"])
    assert list(assign_rows(model, new)) == list(result.assign(new))
    with pytest.raises(UnsupervisedError, match="missing"):
        assign_rows(model, new.drop(columns=["income"]))


def test_hdbscan_and_agglomerative_assign_new_rows(moons: np.ndarray) -> None:
    for method, options in (("hdbscan", {}), ("agglomerative", {"k": 2, "linkage": "single"})):
        result = cluster(moons, method=method, **options)
        assert result.n_clusters == 2
        assert len(set(result.assign(moons[:50]))) >= 1


@parametrize_with_checks([DensityClusterAssigner(),
                          DensityClusterAssigner(n_neighbors=3, max_distance=100.0)])
def test_assigner_is_a_scikit_learn_estimator(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


# --------------------------------------------------------------------------- streaming
def test_stream_kmeans_matches_in_memory_minibatch(tmp_path: Path, blobs: np.ndarray) -> None:
    X = blobs[np.random.default_rng(0).permutation(len(blobs))]
    path = write_memmap(tmp_path / "blobs.npy", [X[i:i + 300] for i in range(0, len(X), 300)],
                        2)
    model = stream_kmeans(open_batches(path, batch_rows=250), 5, passes=2)
    streamed = -model.score(X)
    in_memory = MiniBatchKMeans(n_clusters=5, n_init=3, random_state=42).fit(X).inertia_
    assert streamed == pytest.approx(in_memory, rel=0.05)
    assert model.cluster_centers_.shape == (5, 2)


def test_stream_kmeans_needs_enough_rows(tmp_path: Path) -> None:
    path = write_memmap(tmp_path / "tiny.npy", [np.zeros((3, 2))], 2)
    with pytest.raises(UnsupervisedError, match="fewer than"):
        stream_kmeans(open_batches(path), 5)


# --------------------------------------------------------------------------- profiles
def test_profiles_name_the_distinguishing_columns() -> None:
    table = _table()
    result = cluster(table.drop(columns=["segment"]), k=3)
    profiles = result.profiles
    assert profiles is not None and profiles.sizes["size"].sum() == len(table)
    # Which cluster holds the high-income group (true group 1), which the Paris one (2)?
    truth = table["segment"].to_numpy()
    rich = pd.Series(result.labels[truth == "s1"]).mode()[0]
    paris = pd.Series(result.labels[truth == "s2"]).mode()[0]
    assert profiles.distinguishing(int(rich))[0].startswith("high income")
    assert any("city = Paris" in p for p in profiles.distinguishing(int(paris)))
    assert not any("noise" in p for c in profiles.top for p in profiles.top[c])


def test_profiles_of_constructed_table() -> None:
    frame = pd.DataFrame({"a": [1.0, 1.1, 0.9, 1.0, 9.0, 9.1, 8.9, 9.0],
                          "b": [5.0, 5.1, 4.9, 5.0, 5.0, 4.9, 5.1, 5.0],
                          "kind": ["x", "x", "x", "y", "y", "y", "y", "y"]})
    profiles = cluster_profiles(frame, [0, 0, 0, 0, 1, 1, 1, 1])
    assert profiles.distinguishing(1)[0].startswith("high a")
    assert profiles.distinguishing(0)[0].startswith("low a")
    assert "kind = y" in " ".join(profiles.distinguishing(1))
    assert profiles.table().loc["1", "size"] == 4


def test_label_agreement_ignores_cluster_numbering() -> None:
    truth = np.array(["a"] * 5 + ["b"] * 5)
    agreement = label_agreement(np.array([3] * 5 + [0] * 5), truth)
    assert agreement.accuracy == 1.0 and agreement.adjusted_rand == pytest.approx(1.0)
    assert agreement.mapping == {"0": "b", "3": "a"}


def test_a_continuous_label_gets_means_per_cluster_not_a_class_agreement(
        blobs: np.ndarray) -> None:
    price = blobs[:400, 0] * 1000 + np.arange(400)  # a number per row, like a house value
    result = cluster(blobs[:400], k=3, label=price)
    assert result.agreement is None
    assert any("continuous number" in n and "mean per cluster" in n for n in result.notes)


# --------------------------------------------------------------------------- reports
def test_report_holds_the_figures(tmp_path: Path, blobs: np.ndarray) -> None:
    result = cluster(blobs[:800])
    html_path = result.write_report(tmp_path)
    html = html_path.read_text()
    for title in ("Map of the clusters", "Inertia vs k", "Silhouette score vs k",
                  "Silhouette diagrams", "Cluster profiles"):
        assert title in html
    assert html.count("data:image/png;base64,") >= 5
    data = json.loads((tmp_path / "cluster.json").read_text())
    assert data["n_clusters"] == result.n_clusters and data["scores"][0]["k"] == 2


def test_gmm_and_dbscan_reports_have_their_figures(tmp_path: Path, moons: np.ndarray) -> None:
    gm = cluster(ellipsoids(), method="gmm", k_range=range(1, 5))
    html = gm.write_report(tmp_path / "gmm").read_text()
    assert "BIC and AIC vs k" in html and "Density" in html
    db = cluster(moons, method="dbscan")
    html = db.write_report(tmp_path / "db").read_text()
    assert "k-distance plot" in html and "noise" in html


def test_labels_file(tmp_path: Path) -> None:
    table = _table(90)
    result = cluster(table, k=3, exclude=["segment"])
    labels = pd.read_parquet(result.write_labels(tmp_path / "labels.parquet"))
    assert list(labels["cluster"]) == list(result.labels) and "income" in labels


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"k": 1}, "at least 2"),
    ({"method": "spectral"}, "unknown clustering method"),
    ({"method": "dbscan", "eps": 0}, "eps must be positive"),
    ({"method": "dbscan", "eps": -0.5}, "eps must be positive"),
    ({"method": "kmeans", "covariance_type": "full"}, "does not apply"),
    ({"method": "gmm", "covariance_type": "round"}, "unknown covariance"),
    ({"k_range": [5]}, "k range"),
])
def test_bad_input_is_an_error(kwargs: dict[str, object], match: str) -> None:
    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(UnsupervisedError, match=match):
        cluster(X, **kwargs)  # type: ignore[arg-type]


def test_text_only_table_is_an_error() -> None:
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(40)],
                          "comment": [f"a free text comment of many words number {i}"
                                      for i in range(40)]})
    with pytest.raises(UnsupervisedError, match="no numeric or category"):
        cluster(frame)


# --------------------------------------------------------------------------- segmentation
def _picture() -> np.ndarray:
    """A 24×36 image of three flat colours plus a little noise."""
    rng = np.random.default_rng(0)
    img = np.zeros((24, 36, 3), dtype=np.uint8)
    img[:, :12] = (200, 30, 30)
    img[:, 12:24] = (30, 200, 30)
    img[:, 24:] = (30, 30, 200)
    return np.clip(img + rng.integers(0, 6, size=img.shape), 0, 255).astype(np.uint8)


def test_segment_image_uses_n_colours() -> None:
    img = _picture()
    out = segment_image(img, 3)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert len(np.unique(out.reshape(-1, 3), axis=0)) == 3
    seg = segment(img, (3, 2))
    assert seg.colors_used(2) == 2 and seg.figure() is not None


def test_segment_bad_input() -> None:
    with pytest.raises(UnsupervisedError, match="sample image"):
        load_image("sample:ladybug.png")
    with pytest.raises(UnsupervisedError, match="H×W×3"):
        segment_image(np.zeros((4, 4)), 2)


# --------------------------------------------------------------------------- CLI
def _app() -> typer.Typer:
    from mlpilot.cli.commands_cluster import register

    return single_command_app(register)


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(_app(), ["cluster", *args])
    return result.exit_code, result.output


def test_cli_clusters_and_assigns(tmp_path: Path) -> None:
    table = _table(150)
    data = tmp_path / "rows.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "out"
    code, output = _invoke("--data", str(data), "--label", "segment", "--out", str(out),
                           "--k-range", "2:5")
    assert code == 0, output
    for name in ("cluster.html", "cluster.json", "cluster-model.skops",
                 "cluster-labels.parquet"):
        assert (out / name).exists(), name
    assert "mapped label accuracy" in output and "report:" in output
    report = json.loads((out / "cluster.json").read_text())
    assert report["n_clusters"] == 3 and report["agreement"]["accuracy"] > 0.95

    new = tmp_path / "new.csv"
    table.drop(columns=["segment"]).head(10).to_csv(new, index=False)
    code, output = _invoke("--assign", str(new), "--out", str(out))
    assert code == 0, output
    assigned = pd.read_csv(out / "new-clusters.csv")
    labels = pd.read_parquet(out / "cluster-labels.parquet")["cluster"]
    assert list(assigned["cluster"]) == list(labels.head(10))


def test_cli_dbscan_and_image(tmp_path: Path, moons: np.ndarray) -> None:
    data = tmp_path / "moons.csv"
    pd.DataFrame(moons, columns=["x", "y"]).to_csv(data, index=False)
    code, output = _invoke("--data", str(data), "--method", "dbscan", "--eps", "0.2",
                           "--out", str(tmp_path / "db"))
    assert code == 0, output
    assert "eps" in output
    from PIL import Image

    picture = tmp_path / "pic.png"
    Image.fromarray(_picture()).save(picture)
    code, output = _invoke("--image", str(picture), "--colors", "3",
                           "--out", str(tmp_path / "img"))
    assert code == 0, output
    assert (tmp_path / "img" / "cluster-segmented.png").exists()
    assert (tmp_path / "img" / "cluster.html").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--k", "1"], "k must be at least 2"),
    (["--method", "spectral"], "unknown clustering method"),
    (["--method", "dbscan", "--eps", "0"], "eps must be positive"),
    (["--method", "dbscan", "--eps", "-1"], "eps must be positive"),
    (["--eps", "0.3"], "does not apply to kmeans"),
    (["--k-range", "5"], "cannot read --k-range"),
])
def test_cli_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    data = tmp_path / "rows.csv"
    _table(60).to_csv(data, index=False)
    code, output = _invoke("--data", str(data), "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert message in output and len(output.strip().splitlines()) == 1
    assert "Traceback" not in output


def test_cli_text_only_table_and_missing_model(tmp_path: Path) -> None:
    data = tmp_path / "text.csv"
    pd.DataFrame({"id": [f"u{i}" for i in range(40)],
                  "comment": [f"a free text comment of many words number {i}"
                              for i in range(40)]}).to_csv(data, index=False)
    code, output = _invoke("--data", str(data), "--out", str(tmp_path / "o"))
    assert code == 2 and "no numeric or category" in output
    code, output = _invoke("--assign", str(data), "--out", str(tmp_path / "empty"))
    assert code == 2 and "no saved clustering model" in output
