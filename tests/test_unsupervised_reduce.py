"""Dimensionality reduction (book ch. 8): d for 95 %, reconstruction, new rows, JL, kernel PCA
tuning, streaming from disk, reports, the CLI and the ch08 recipe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from sklearn.datasets import make_swiss_roll
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.random_projection import johnson_lindenstrauss_min_dim
from typer.testing import CliRunner

from cli_apps import single_command_app
from mlpilot.data.catalog import load_dataset
from mlpilot.errors import UnsupervisedError
from mlpilot.unsupervised.kernel_pca import tune_kernel_pca
from mlpilot.unsupervised.reduce import METHODS, Reduction, jl_min_dim, pca_step, reduce
from mlpilot.unsupervised.reduce_figures import embedding_map
from mlpilot.unsupervised.reduce_stream import (
    incremental_pca_stream,
    reduce_stream,
    transform_stream,
)
from mlpilot.unsupervised.streaming import open_batches, write_memmap


@pytest.fixture(scope="module")
def digits() -> pd.DataFrame:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def digits_pca(digits: pd.DataFrame) -> Reduction:
    return reduce(digits, label="digit")


def _pixels(digits: pd.DataFrame) -> np.ndarray:
    return digits.drop(columns="digit").to_numpy(dtype=float)


# --- PCA: d, variance, reconstruction, new rows ---------------------------------------------


def test_pca_picks_d_for_95_percent_on_digits(digits: pd.DataFrame,
                                              digits_pca: Reduction) -> None:
    r = digits_pca
    expected = PCA(n_components=0.95).fit(_pixels(digits)).n_components_
    assert r.n_components == expected == 29
    curve = r.cumulative_variance
    assert curve is not None and len(curve) == 64
    assert curve[r.n_components - 2] < 0.95 <= curve[r.n_components - 1]
    assert r.variance_kept is not None and r.variance_kept >= 0.95
    assert not r.scaled  # pixels share one unit: left as they are
    assert r.embedding.shape == (1797, 29)


def test_reconstruction_error_decreases_with_d(digits: pd.DataFrame) -> None:
    errors = [reduce(digits, label="digit", n_components=d).reconstruction_error
              for d in (2, 10, 30, 64)]
    assert all(e is not None for e in errors)
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[3] == pytest.approx(0, abs=1e-8)  # all components: lossless


def test_new_rows_land_where_the_training_rows_did(digits: pd.DataFrame,
                                                  digits_pca: Reduction) -> None:
    new = digits.head(5)
    np.testing.assert_allclose(digits_pca.transform(new), digits_pca.embedding[:5], atol=1e-9)
    np.testing.assert_allclose(digits_pca.model.transform(new.drop(columns="digit")),
                               digits_pca.embedding[:5], atol=1e-9)


def test_mixed_table_is_scaled_and_new_rows_with_unseen_categories_transform() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"income": rng.normal(50_000, 10_000, 80),
                          "age": rng.integers(18, 90, 80).astype(float),
                          "city": rng.choice(["a", "b", "c"], 80),
                          "id": [f"row-{i}" for i in range(80)]})
    frame.loc[3, "age"] = np.nan
    r = reduce(frame, n_components=2)
    assert r.scaled and r.n_components == 2
    assert "id" in r.to_dict()["dropped"]
    new = pd.DataFrame({"income": [40_000.0], "age": [30.0], "city": ["zzz"], "id": ["x"]})
    assert r.transform(new).shape == (1, 2)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_embeds_and_reports(method: str, tmp_path: Path) -> None:
    iris = load_dataset("iris")
    r = reduce(iris, method=method, label="species", n_components=2)
    assert r.embedding.shape == (150, 2)
    json.dumps(r.to_dict())
    assert r.summary()
    if method in ("mds", "tsne"):
        with pytest.raises(UnsupervisedError, match="cannot place new rows"):
            r.transform(iris.head(2))
    else:
        assert r.transform(iris.head(2)).shape == (2, 2)


def test_pca_step_goes_into_a_supervised_pipeline(digits: pd.DataFrame) -> None:
    step = pca_step()
    assert isinstance(step, PCA) and step.n_components == 0.95
    model = make_pipeline(step, LogisticRegression(max_iter=2_000))
    model.fit(_pixels(digits), digits["digit"])
    assert model[0].n_components_ == 29
    with pytest.raises(UnsupervisedError):
        pca_step(1.5)


# --- random projection --------------------------------------------------------------------


@pytest.mark.parametrize("projection", ["sparse", "gaussian"])
def test_random_projection_d_is_the_jl_minimum(projection: str) -> None:
    X = np.random.default_rng(42).standard_normal((300, 2_000))
    r = reduce(X, method="random_projection", eps=0.5, projection=projection)
    assert r.n_components == jl_min_dim(300, 0.5) == johnson_lindenstrauss_min_dim(300, eps=0.5)
    assert r.embedding.shape == (300, r.n_components)
    assert r.reconstruction_error is not None  # via the pseudo-inverse
    if projection == "sparse":
        assert r.params["density"] == pytest.approx(1 / np.sqrt(2_000))


def test_random_projection_refuses_more_dimensions_than_features(digits: pd.DataFrame) -> None:
    with pytest.raises(UnsupervisedError, match="Johnson–Lindenstrauss needs 6,423"):
        reduce(digits, method="random_projection", label="digit")
    assert reduce(digits, method="random_projection", label="digit",
                  n_components=20).n_components == 20


# --- kernel PCA tuning ------------------------------------------------------------------------


def test_kernel_pca_tuning_the_books_two_ways(tmp_path: Path) -> None:
    X, t = make_swiss_roll(n_samples=200, noise=0.2, random_state=42)
    gammas = np.linspace(0.03, 0.05, 3)
    supervised = tune_kernel_pca(X, t > 6.9, gammas=gammas)
    assert supervised.scoring == "accuracy"
    assert np.isclose(gammas, supervised.best_params["gamma"]).any()
    assert supervised.best_params["kernel"] in ("rbf", "sigmoid")
    assert len(supervised.table) == 6 and supervised.best_score == supervised.table[
        "accuracy"].max()
    assert supervised.model.predict(X[:3]).shape == (3,)
    unsupervised = tune_kernel_pca(X, gammas=gammas)
    assert unsupervised.scoring == "reconstruction error"
    assert unsupervised.best_score == unsupervised.table["reconstruction error"].min()
    assert np.isclose(gammas, unsupervised.best_params["gamma"]).any()
    assert unsupervised.model.fit_inverse_transform
    html = unsupervised.write_report(tmp_path).read_text()
    assert "data:image/png" in html
    with pytest.raises(UnsupervisedError, match="classes"):
        tune_kernel_pca(X, t, gammas=gammas)


# --- streaming from disk --------------------------------------------------------------------


def test_incremental_stream_equals_in_memory_incremental_pca(digits: pd.DataFrame,
                                                             tmp_path: Path) -> None:
    X = _pixels(digits).astype(np.float32)
    path = write_memmap(tmp_path / "digits.npy", (X[i:i + 250] for i in range(0, len(X), 250)),
                        64)
    for batch_rows in (200, 1_790):  # 1,797 % 1,790 = 7 rows: too few alone for 10 components
        source = open_batches(path, batch_rows=batch_rows)
        streamed = incremental_pca_stream(source, 10)
        memory = IncrementalPCA(n_components=10, batch_size=batch_rows).fit(X)
        np.testing.assert_allclose(streamed.components_, memory.components_, atol=1e-6)
        np.testing.assert_allclose(streamed.explained_variance_ratio_,
                                   memory.explained_variance_ratio_, atol=1e-6)
    Z = np.concatenate(list(transform_stream(streamed, source, batch_rows=300)))
    np.testing.assert_allclose(Z, streamed.transform(X), atol=1e-4)
    with pytest.raises(UnsupervisedError, match="at least 10 rows"):
        incremental_pca_stream(open_batches(path, batch_rows=5), 10)


def test_reduce_stream_picks_d_and_writes_the_embedding(digits: pd.DataFrame,
                                                        tmp_path: Path) -> None:
    digits.astype({c: "float32" for c in digits.columns if c != "digit"}).to_parquet(
        tmp_path / "digits.parquet", row_group_size=400)
    seen: list[int] = []
    r = reduce_stream(tmp_path / "digits.parquet", 0.95, label="digit", batch_rows=400,
                      embedding_path=tmp_path / "emb.parquet", on_batch=seen.append)
    assert r.n_features == 64 and r.streamed
    assert 27 <= r.n_components <= 31 and r.variance_kept is not None
    assert r.variance_kept >= 0.95
    assert sum(seen) == 3 * 1797  # curve pass, fit pass, transform pass
    emb = pd.read_parquet(tmp_path / "emb.parquet")
    assert emb.shape == (1797, r.n_components)
    assert r.label is not None and len(r.label) == len(r.embedding)
    html = r.write_report(tmp_path).read_text()
    assert "Originals and their reconstructions" in html


# --- figures and reports ----------------------------------------------------------------


def test_tsne_map_coloured_by_label_in_the_report(digits: pd.DataFrame, tmp_path: Path) -> None:
    r = reduce(digits.head(300), method="tsne", label="digit")
    assert r.embedding.shape == (300, 2)
    html = r.write_report(tmp_path).read_text()
    assert "t-SNE map" in html and "coloured by digit" in html
    assert html.count("data:image/png") >= 1
    assert json.loads((tmp_path / "reduce.json").read_text())["label"] == "digit"


def test_maps_use_a_legend_for_classes_and_a_colour_bar_for_numbers() -> None:
    Z = np.random.default_rng(0).normal(size=(50, 2))
    classes = embedding_map(Z, pd.Series(np.arange(50) % 3, name="digit"))
    assert classes.axes[0].get_legend() is not None and len(classes.axes) == 1
    scale = embedding_map(Z, pd.Series(np.linspace(0, 1, 50), name="t"))
    assert len(scale.axes) == 2  # the colour bar has its own axes


def test_pca_report_has_the_curve_map_and_image_grid(digits_pca: Reduction,
                                                     tmp_path: Path) -> None:
    html = digits_pca.write_report(tmp_path).read_text()
    for title in ("Explained variance against dimensions", "First two principal components",
                  "Originals and their reconstructions"):
        assert title in html
    assert html.count("data:image/png") == 3
    iris = reduce(load_dataset("iris"), label="species", n_components=2)
    assert iris.image_side is None and iris.preview is None


def test_quadratic_methods_run_on_a_sample(digits: pd.DataFrame) -> None:
    r = reduce(digits, method="isomap", label="digit", sample=200)
    assert r.n_rows == 200 and r.sampled_from == 1797
    assert r.label is not None and len(r.label) == 200
    assert r.row_index is not None and len(set(r.row_index)) == 200
    assert "200 of 1,797 rows" in r.summary()[0]


def test_model_saves_and_loads_with_skops(digits_pca: Reduction, tmp_path: Path) -> None:
    import skops.io

    path = digits_pca.save_model(tmp_path / "m.skops")
    model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    np.testing.assert_allclose(model.transform(load_dataset("digits").drop(columns="digit")),
                               digits_pca.embedding, atol=1e-9)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_components": 1.5}, "neither a variance ratio"),
    ({"n_components": 0}, "at least 1"),
    ({"method": "umap"}, "unknown reduction method"),
    ({"method": "tsne", "n_components": 5}, "2-D or 3-D"),
    ({"n_components": 100}, "at most 64"),
    ({"label": "nope"}, "not in the data"),
])
def test_bad_input_raises_unsupervised_error(digits: pd.DataFrame, kwargs: dict,
                                             message: str) -> None:
    with pytest.raises(UnsupervisedError, match=message):
        reduce(digits.drop(columns="digit"), **kwargs)


def test_one_row_is_refused() -> None:
    with pytest.raises(UnsupervisedError, match="at least 2 rows"):
        reduce(np.ones((1, 5)))


# --- CLI ----------------------------------------------------------------------------------


@pytest.fixture
def app() -> typer.Typer:
    from mlpilot.cli.commands_reduce import register

    return single_command_app(register)


def test_cli_writes_the_report_model_and_embedding(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reduce", "--data", "digits", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("reduce.html", "reduce.json", "reduce-model.skops",
                 "reduce-embedding.parquet"):
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "reduce.json").read_text())["n_components"] == 29
    assert "29" in result.output and "report:" in result.output
    emb = pd.read_parquet(tmp_path / "reduce-embedding.parquet")
    assert list(emb.columns[:2]) == ["row", "z1"] and "digit" in emb.columns


def test_cli_streams_a_file(app: typer.Typer, digits: pd.DataFrame, tmp_path: Path) -> None:
    X = _pixels(digits).astype(np.float32)
    path = write_memmap(tmp_path / "d.npy", [X], 64)
    result = CliRunner().invoke(app, ["reduce", "--stream", str(path), "--components", "10",
                                      "--batch-rows", "500", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(tmp_path / "o" / "reduce-embedding.parquet").shape == (1797, 10)
    assert (tmp_path / "o" / "reduce-model.skops").exists()


@pytest.mark.parametrize("args", [["--components", "1.5"], ["--method", "foo"], ["one-row"]])
def test_cli_bad_input_exits_2_with_one_line(app: typer.Typer, tmp_path: Path,
                                             args: list[str]) -> None:
    if args == ["one-row"]:
        csv = tmp_path / "one.csv"
        pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(csv, index=False)
        args = ["--data", str(csv)]
    else:
        args = ["--data", "digits", *args]
    result = CliRunner().invoke(app, ["reduce", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "error:" in result.output


# --- recipe -------------------------------------------------------------------------------


def test_recipe_ch08_reduction_matches_the_book() -> None:
    from mlpilot.recipes.ch08_reduction import RECIPE

    result = RECIPE.run()
    failures = [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
    assert not failures
    checked = {c.quantity for c in result.comparisons if c.reference is None}
    assert len(checked) >= 12
    assert any("correlation" in note for note in result.notes)
