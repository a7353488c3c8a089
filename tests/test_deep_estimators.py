"""Keras networks as scikit-learn estimators, the book's architectures and the kit's options.

Runs on whichever Keras backend ``KERAS_BACKEND`` selects (JAX by default). Tables are tiny
and share their shapes (a JAX backend compiles once per input shape), so the file stays fast;
scikit-learn's full estimator checks are marked slow.
"""

from __future__ import annotations

import copy
import importlib.util
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlpilot.deep.architectures import (
    SmoothedSparseCrossentropy,
    WideAndDeepModel,
    build_mlp,
    build_wide_deep,
    compile_for_task,
    normalization_stats,
    output_spec,
)
from mlpilot.deep.backend import keras_module, set_seed
from mlpilot.deep.estimators import KerasClassifier, KerasRegressor
from mlpilot.deep.kit import (
    ACTIVATIONS,
    OPTIMIZERS,
    PRESETS,
    default_initializer,
    get_preset,
    make_optimizer,
)
from mlpilot.errors import DeepLearningError
from mlpilot.models import default_candidates, get_candidate
from mlpilot.registry.persistence import load_artifact, save_artifact

keras = keras_module()
N_ROWS, N_FEATURES = 200, 5
#: Few epochs, small layers: enough to learn the tables' signal in well under a second.
QUICK = {"preset": "fast", "n_neurons": 16, "epochs": 5, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Five features; a regression target and three string classes that depend on them."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(N_ROWS, N_FEATURES)),
                     columns=[f"x{i}" for i in range(N_FEATURES)])
    signal = X["x0"] + 0.5 * X["x1"] - X["x2"] + rng.normal(scale=0.2, size=N_ROWS)
    labels = np.array(["low", "mid", "high"])[np.digitize(signal, [-0.6, 0.6])]
    return X, signal.to_numpy(), labels


# ----------------------------------------------------------------------------- the kit
def test_every_optimizer_builds_with_the_books_defaults() -> None:
    for name in OPTIMIZERS:
        assert make_optimizer(name) is not None
    assert float(make_optimizer("sgd").learning_rate) == pytest.approx(0.01)
    nesterov = make_optimizer("nesterov", 0.01)
    assert nesterov.nesterov and nesterov.momentum == pytest.approx(0.9)
    assert make_optimizer("sgd", 0.01, momentum=0.9, nesterov=True).nesterov
    assert make_optimizer("rmsprop").rho == pytest.approx(0.9)
    adam = make_optimizer("adam")
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == pytest.approx((0.9, 0.999, 1e-7))
    assert make_optimizer("adamw").weight_decay == pytest.approx(1e-5)
    with pytest.raises(DeepLearningError, match="unknown optimizer 'adamz'") as excinfo:
        make_optimizer("adamz")
    assert excinfo.value.hint and "nadam" in excinfo.value.hint
    with pytest.raises(DeepLearningError, match="learning_rate"):
        make_optimizer("adam", -1.0)


@pytest.mark.parametrize(("clip", "expected"), [({"clipvalue": 1.0}, [0.9, 1.0]),
                                                ({"clipnorm": 1.0}, [0.00899964, 0.9999595])])
def test_gradient_clipping_matches_the_book(clip: dict[str, float],
                                            expected: list[float]) -> None:
    """Section 11.3: the gradient [0.9, 100.0] clipped by value or by norm."""
    variable = keras.Variable(np.zeros(2, dtype="float32"))
    optimizer = make_optimizer("sgd", 1.0, **clip)
    optimizer.apply_gradients([(keras.ops.convert_to_tensor([0.9, 100.0]), variable)])
    np.testing.assert_allclose(-keras.ops.convert_to_numpy(variable), expected, rtol=1e-5)


def test_activations_and_table_11_1_initializers() -> None:
    x = keras.ops.convert_to_tensor([-1.0, 0.0, 2.0])
    for name in ACTIVATIONS:  # every name is a Keras 3 built-in
        assert keras.ops.convert_to_numpy(keras.activations.get(name)(x)).shape == (3,)
    leaky = keras.ops.convert_to_numpy(keras.activations.get("leaky_relu")(x))
    np.testing.assert_allclose(leaky, [-0.2, 0.0, 2.0], rtol=1e-6)  # the book's slope
    for name in ("relu", "leaky_relu", "elu", "gelu", "swish", "mish"):
        assert default_initializer(name).startswith("he_")
    assert default_initializer("selu") == "lecun_normal"
    for name in ("tanh", "sigmoid", "softplus", None):
        assert default_initializer(name).startswith("glorot_")


def test_presets_follow_the_books_tables() -> None:
    assert {"book", "default", "self_normalizing", "fast"} <= set(PRESETS)
    assert all(p.summary and "\n" not in p.summary for p in PRESETS.values())
    book = PRESETS["book"]
    assert (book.activation, book.kernel_initializer, book.optimizer, book.learning_rate,
            book.batch_size) == ("relu", "glorot_uniform", "sgd", 0.01, 32)
    default = get_preset(None)
    assert default.name == "default" and default.optimizer in ("nesterov", "adamw")
    assert default.activation_for(2) == "relu" and default.activation_for(20) == "swish"
    assert default.batch_norm_for(2) == "none" and default.batch_norm_for(20) != "none"
    assert default.early_stopping and default.schedule in ("plateau", "1cycle")
    selu = PRESETS["self_normalizing"]
    assert (selu.activation, selu.kernel_initializer, selu.batch_norm) == (
        "selu", "lecun_normal", "none")
    fast = PRESETS["fast"]
    assert fast.early_stopping and 64 <= fast.batch_size <= 256
    with pytest.raises(DeepLearningError, match="unknown preset"):
        get_preset("turbo")


# ----------------------------------------------------------------------------- architectures
def test_book_parameter_counts() -> None:
    """Chapter 10's Fashion-MNIST MLP and chapter 11's version with three BN layers."""
    plain = build_mlp((28, 28), "multiclass", 10, n_hidden=2, n_neurons=(300, 100),
                      normalize=False)
    assert plain.count_params() == 266_610
    assert [w.shape for w in plain.layers[1].get_weights()] == [(784, 300), (300,)]
    bn = build_mlp((28, 28), "multiclass", 10, n_hidden=2, n_neurons=(300, 100),
                   kernel_initializer="he_normal", batch_norm="after", normalize=False)
    non_trainable = sum(int(np.prod(w.shape)) for w in bn.non_trainable_weights)
    assert (bn.count_params(), non_trainable) == (271_346, 2_368)
    before = build_mlp((28, 28), "multiclass", 10, n_hidden=2, n_neurons=(300, 100),
                       batch_norm="before", normalize=False)  # no input BN, no hidden bias
    assert before.count_params() == 784 * 300 + 4 * 300 + 300 * 100 + 4 * 100 + 1_010


@pytest.mark.parametrize(("task", "n", "units", "activation", "loss"), [
    ("regression", 2, 2, None, "mse"),
    ("binary", 1, 1, "sigmoid", "binary_crossentropy"),
    ("multiclass", 10, 10, "softmax", "sparse_categorical_crossentropy"),
    ("multilabel", 3, 3, "sigmoid", "binary_crossentropy"),
])
def test_output_layer_and_loss_per_task(task: str, n: int, units: int, activation: str | None,
                                        loss: str) -> None:
    """Tables 10-1 and 10-2."""
    spec = output_spec(task, n)
    assert (spec.units, spec.activation, spec.loss) == (units, activation, loss)


def test_mlp_layers_follow_the_options() -> None:
    selu = build_mlp(4, n_hidden=2, n_neurons=8, activation="selu", dropout=0.1)
    names = [type(layer).__name__ for layer in selu.layers]
    assert names.count("AlphaDropout") == 2 and "Dropout" not in names
    relu = build_mlp(4, n_hidden=2, n_neurons=8, dropout=0.2, max_norm=1.0, l2=0.01)
    assert [type(layer).__name__ for layer in relu.layers].count("Dropout") == 2
    dense = relu.layers[1]
    assert isinstance(dense.kernel_constraint, keras.constraints.MaxNorm)
    assert dense.kernel_initializer.__class__.__name__ == "HeNormal"
    assert len(relu.losses) == 3  # l2 on both hidden layers and the output
    with pytest.raises(DeepLearningError, match="unknown activation"):
        build_mlp(4, activation="relu6")
    with pytest.raises(DeepLearningError, match="layer sizes"):
        build_mlp(4, n_hidden=3, n_neurons=(10, 10))


def test_mc_dropout_layers_come_from_the_regularization_module() -> None:
    if importlib.util.find_spec("mlpilot.deep.regularization") is None:
        with pytest.raises(DeepLearningError, match="regularization"):
            build_mlp(4, dropout=0.2, mc_dropout=True)
        return
    from mlpilot.deep.regularization import MCAlphaDropout, MCDropout

    layers = build_mlp(4, n_hidden=1, dropout=0.2, mc_dropout=True).layers
    assert any(isinstance(layer, MCDropout) for layer in layers)
    layers = build_mlp(4, n_hidden=1, activation="selu", dropout=0.2, mc_dropout=True).layers
    assert any(isinstance(layer, MCAlphaDropout) for layer in layers)


def test_normalization_leaves_indicators_and_constants_alone() -> None:
    """A one-hot category seen once in 1,000 rows must not become a 30-sigma input."""
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.normal(5.0, 2.0, 1000), np.eye(1000)[0], np.full(1000, 3.0)])
    mean, variance = normalization_stats(data)
    np.testing.assert_allclose(mean, [data[:, 0].mean(), 0.0, 3.0])
    np.testing.assert_allclose(variance, [data[:, 0].var(), 1.0, 1.0])
    model = build_mlp(3, n_hidden=0, adapt_data=data)
    out = keras.ops.convert_to_numpy(model.layers[0](np.array([[5.0, 1.0, 4.0]], "float32")))
    np.testing.assert_allclose(out[0, 1:], [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize(("task", "n_outputs"), [("regression", 2), ("binary", 1),
                                                 ("multiclass", 3), ("multilabel", 2)])
def test_each_architecture_trains_and_predicts(table: Any, task: str, n_outputs: int) -> None:
    X = table[0].to_numpy("float32")
    rng = np.random.default_rng(1)
    y = {"regression": rng.normal(size=(N_ROWS, 2)), "binary": rng.integers(0, 2, N_ROWS),
         "multiclass": rng.integers(0, 3, N_ROWS),
         "multilabel": rng.integers(0, 2, (N_ROWS, 2))}[task].astype("float32")
    set_seed(0)
    mlp = compile_for_task(build_mlp(N_FEATURES, task, n_outputs, n_neurons=8, adapt_data=X),
                           task, make_optimizer("adam"), run_eagerly=True)
    mlp.fit(X, y, epochs=1, verbose=0)
    assert mlp.predict(X, verbose=0).shape == (N_ROWS, n_outputs)
    wide_deep = build_wide_deep(3, 4, task, n_outputs, n_neurons=8, auxiliary_output=True,
                                adapt_data=(X[:, :3], X[:, 1:]))
    compile_for_task(wide_deep, task, make_optimizer("adam"), run_eagerly=True)
    wide_deep.fit((X[:, :3], X[:, 1:]), (y, y), epochs=1, verbose=0)
    main, aux = wide_deep.predict((X[:, :3], X[:, 1:]), verbose=0)
    assert main.shape == aux.shape == (N_ROWS, n_outputs)


def test_wide_and_deep_subclass_round_trips(table: Any, tmp_path: Path) -> None:
    """Book 10.1.c: the subclassed model, saved and loaded without custom_objects."""
    X, y = table[0].to_numpy("float32"), table[1].astype("float32")
    X_wide, X_deep = X[:, :3], X[:, 1:]
    set_seed(0)
    model = WideAndDeepModel(30, activation="relu", name="my_cool_model")
    model.norm_layer_wide.adapt(X_wide)
    model.norm_layer_deep.adapt(X_deep)
    compile_for_task(model, "regression", make_optimizer("adam"), run_eagerly=True)
    model.fit((X_wide, X_deep), (y, y), epochs=2, verbose=0)
    main, aux = model.predict((X_wide, X_deep), verbose=0)
    assert main.shape == aux.shape == (N_ROWS, 1)
    assert isinstance(model.main_output, keras.layers.Dense)  # `output` is Model's
    model.save(tmp_path / "wide_deep.keras")
    restored = keras.models.load_model(tmp_path / "wide_deep.keras")
    assert isinstance(restored, WideAndDeepModel) and restored.units == 30
    np.testing.assert_allclose(restored.predict((X_wide, X_deep), verbose=0)[0], main,
                               rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- estimators
def test_regressor_fits_a_dataframe(table: Any) -> None:
    X, y, _ = table
    model = KerasRegressor(**{**QUICK, "epochs": 20}).fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns) and model.n_features_in_ == 5
    assert model.n_outputs_ == 1
    pred = model.predict(X)
    assert pred.shape == (N_ROWS,) and pred.dtype == np.float64
    assert model.score(X, y) > 0.8
    assert {"loss", "val_loss", "rmse", "val_rmse"} <= set(model.history_)
    assert len(model.history_["loss"]) == model.n_iter_ <= 20
    two = KerasRegressor(**QUICK).fit(X, np.column_stack([y, -y]))
    assert two.predict(X).shape == (N_ROWS, 2) and two.n_outputs_ == 2


def test_classifier_takes_string_labels(table: Any) -> None:
    X, _, labels = table
    model = KerasClassifier(**{**QUICK, "epochs": 20}).fit(X, labels)
    assert list(model.classes_) == ["high", "low", "mid"]
    assert set(model.predict(X)) <= set(labels)
    proba = model.predict_proba(X)
    assert proba.shape == (N_ROWS, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))
    assert model.score(X, labels) > 0.7
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(model.history_)


def test_binary_and_multilabel_classifiers(table: Any) -> None:
    X, signal, _ = table
    binary = np.where(signal > 0, "yes", "no")
    model = KerasClassifier(**{**QUICK, "epochs": 20}).fit(X, binary)
    assert list(model.classes_) == ["no", "yes"] and model.n_outputs_ == 1
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, binary) > 0.8
    indicator = np.column_stack([signal > 0, X["x3"] > 0]).astype(int)
    multilabel = KerasClassifier(**QUICK).fit(X, indicator)
    assert multilabel.predict(X).shape == (N_ROWS, 2)
    assert set(np.unique(multilabel.predict(X))) <= {0, 1}
    assert multilabel.predict_proba(X).shape == (N_ROWS, 2)


def test_label_smoothing_matches_keras_and_softens_probabilities(table: Any) -> None:
    labels = np.array([0, 2, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]], dtype="float32")
    ours = float(SmoothedSparseCrossentropy(0.2)(labels, proba))
    theirs = float(keras.losses.CategoricalCrossentropy(label_smoothing=0.2)(
        np.eye(3, dtype="float32")[labels], proba))
    assert ours == pytest.approx(theirs, rel=1e-6)

    X, signal, labels = table
    quick = {**QUICK, "epochs": 40, "learning_rate": 0.01}
    sharp = KerasClassifier(**quick).fit(X, labels)
    smooth = KerasClassifier(**quick, label_smoothing=0.3).fit(X, labels)
    assert isinstance(smooth.model_.loss, SmoothedSparseCrossentropy)
    assert (smooth.predict_proba(X).max(axis=1).mean()
            < sharp.predict_proba(X).max(axis=1).mean() - 0.05)
    assert smooth.score(X, labels) > 0.7
    again = pickle.loads(pickle.dumps(smooth))  # the loss is saved in the .keras archive
    np.testing.assert_allclose(again.predict_proba(X), smooth.predict_proba(X), rtol=1e-6)
    binary = [KerasClassifier(**quick, label_smoothing=ls).fit(X, signal > 0).predict_proba(X)
              for ls in (0.0, 0.3)]  # the sigmoid's target is 0.85, not 1
    assert binary[1].max(axis=1).mean() < binary[0].max(axis=1).mean() - 0.05
    assert KerasClassifier(preset="images").resolved_params()["label_smoothing"] == 0.1
    assert "label_smoothing" not in KerasRegressor(preset="images").resolved_params()
    with pytest.raises(DeepLearningError, match="label_smoothing"):
        KerasClassifier(**QUICK, label_smoothing=1.5).fit(X, labels)


def test_wide_deep_estimator_reads_column_names(table: Any) -> None:
    X, y, _ = table
    model = KerasRegressor(architecture="wide_deep", wide_columns=["x0", "x1", "x2"],
                           deep_columns=[1, 2, 3, 4], auxiliary_output=True, **QUICK).fit(X, y)
    assert model.predict(X).shape == (N_ROWS,)
    assert {"output_loss", "aux_output_loss"} <= set(model.history_)
    with pytest.raises(DeepLearningError, match="not a feature name"):
        KerasRegressor(architecture="wide_deep", wide_columns=["nope"], **QUICK).fit(X, y)
    with pytest.raises(DeepLearningError, match="wide_deep"):
        KerasRegressor(wide_columns=[0], **QUICK).fit(X, y)


def test_early_stopping_stops_and_keeps_the_best_epoch(table: Any) -> None:
    X, _, _ = table
    noise = np.random.default_rng(3).normal(size=N_ROWS)  # nothing to learn: val loss rises
    model = KerasRegressor(**{**QUICK, "n_neurons": 64, "epochs": 60, "patience": 3,
                              "learning_rate": 0.01}).fit(X, noise)
    assert model.n_iter_ < 60
    best = int(np.argmin(model.history_["val_loss"]))
    assert model.n_iter_ == best + 1 + 3  # stopped `patience` epochs after the best one
    off = KerasRegressor(**{**QUICK, "early_stopping": False, "validation_fraction": 0.0})
    off.fit(X, noise)
    assert off.n_iter_ == QUICK["epochs"] and "val_loss" not in off.history_


def test_same_seed_same_predictions(table: Any) -> None:
    X, _, labels = table
    first = KerasClassifier(**QUICK).fit(X, labels).predict_proba(X)
    again = KerasClassifier(**QUICK).fit(X, labels).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    other = KerasClassifier(**{**QUICK, "random_state": 1}).fit(X, labels).predict_proba(X)
    assert not np.allclose(first, other)


def test_sample_weight_changes_the_fit(table: Any) -> None:
    X, y, _ = table
    weights = np.where(y > 0, 1.0, 0.0)  # only the positive half counts
    plain = KerasRegressor(**QUICK).fit(X, y)
    weighted = KerasRegressor(**QUICK).fit(X, y, sample_weight=weights)
    assert not np.allclose(plain.predict(X), weighted.predict(X))


def test_fitted_estimator_survives_pickle_deepcopy_and_clone(table: Any) -> None:
    X, _, labels = table
    model = KerasClassifier(**QUICK).fit(X, labels)
    proba = model.predict_proba(X)
    for restored in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(restored.predict_proba(X), proba)
        assert list(restored.classes_) == list(model.classes_)
        assert restored.history_ == model.history_
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "model_")


def test_pipeline_round_trips_through_the_registrys_skops(table: Any, tmp_path: Path) -> None:
    X, y, labels = table
    for model, target in ((KerasRegressor(**QUICK), y), (KerasClassifier(**QUICK), labels)):
        pipeline = make_pipeline(StandardScaler(), model).fit(X, target)
        saved = save_artifact(pipeline, tmp_path / type(model).__name__)
        assert any("KerasRegressor" in t or "KerasClassifier" in t
                   for t in saved.trusted_types)
        loaded = load_artifact(saved.path, sha256=saved.sha256, format=saved.format,
                               trusted_types=saved.trusted_types)
        np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def test_cross_val_score_and_grid_search(table: Any) -> None:
    X, y, _ = table
    mlp = KerasRegressor(**{**QUICK, "epochs": 30, "learning_rate": 0.01})
    scores = cross_val_score(Pipeline([("scale", StandardScaler()), ("mlp", mlp)]), X, y, cv=2,
                             scoring="r2")  # the same folds as the search: shapes compiled once
    assert scores.shape == (2,) and np.all(scores > 0.5), scores
    search = GridSearchCV(KerasRegressor(**QUICK), {"n_neurons": [4, 16]}, cv=2).fit(X, y)
    assert search.best_params_["n_neurons"] in (4, 16)
    assert search.best_estimator_.predict(X).shape == (N_ROWS,)


@pytest.mark.parametrize(("params", "match"), [
    ({"optimizer": "adamz"}, "unknown optimizer"),
    ({"activation": "relu6"}, "unknown activation"),
    ({"kernel_initializer": "zeros"}, "unknown kernel initializer"),
    ({"preset": "turbo"}, "unknown preset"),
    ({"architecture": "cnn"}, "unknown architecture"),
    ({"batch_norm": "middle"}, "unknown batch_norm"),
    ({"epochs": 0}, "epochs"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"dropout": 1.5}, "dropout"),
    ({"loss": "hinge"}, "unknown regression loss"),
])
def test_bad_configuration_is_a_deep_learning_error(table: Any, params: dict[str, Any],
                                                    match: str) -> None:
    X, y, _ = table
    model = KerasRegressor(**{**QUICK, **params})  # accepted at construction, as sklearn wants
    with pytest.raises(DeepLearningError, match=match) as excinfo:
        model.fit(X, y)
    assert excinfo.value.hint


def test_schedules_plug_in(table: Any) -> None:
    X, y, _ = table
    model = KerasRegressor(**{**QUICK, "schedule": "exponential"})
    if importlib.util.find_spec("mlpilot.deep.schedules") is None:
        with pytest.raises(DeepLearningError, match="schedule"):
            model.fit(X, y)
        return
    assert model.fit(X, y).predict(X).shape == (N_ROWS,)


# ----------------------------------------------------------------------------- the model zoo
def test_mlp_is_in_the_default_shortlist_for_housing() -> None:
    names = [c.name for c in default_candidates("regression", 16_512, 26)]
    assert "mlp" in names
    candidate = get_candidate("mlp")
    assert (candidate.family, candidate.prep, candidate.requires) == ("neural", "scaled",
                                                                      "keras")
    regressor = candidate.build("regression", 0)
    assert isinstance(regressor, TransformedTargetRegressor)
    assert isinstance(regressor.regressor, KerasRegressor)
    assert regressor.regressor.preset == "fast"
    assert isinstance(candidate.build("multilabel", 0), KerasClassifier)  # natively


# ----------------------------------------------------------------------------- sklearn checks
def _expected_failed_checks(estimator: Any) -> dict[str, str]:
    return {
        # Minibatch SGD: a weight of 2 is not the same as the row twice (other batches, other
        # shuffles, other early-stopping split), so the fits differ by more than rounding.
        "check_sample_weight_equivalence_on_dense_data":
            "stochastic minibatch training is not invariant to repeating rows",
    }


@pytest.mark.slow
@parametrize_with_checks([KerasRegressor(preset="fast", n_neurons=8, epochs=2),
                          KerasClassifier(preset="fast", n_neurons=8, epochs=2)],
                         expected_failed_checks=_expected_failed_checks)
def test_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's compilation cache")
@pytest.mark.parametrize("setting", ["", "off"])
def test_jax_keeps_compiled_steps_on_disk_unless_told_not_to(tmp_path: Path,
                                                             setting: str) -> None:
    """A second process training the same network finds its train step compiled."""
    import os
    import subprocess
    import sys

    script = ("from mlpilot.deep.estimators import KerasRegressor\n"
              "import numpy as np\n"
              "X = np.random.default_rng(0).normal(size=(64, 3)).astype('float32')\n"
              "KerasRegressor(preset='fast', n_neurons=4, epochs=30, batch_size=16,\n"
              "               early_stopping=False, random_state=0).fit(X, X[:, 0])\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "MLPILOT_JAX_CACHE": setting,
           "KERAS_BACKEND": "jax"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300,
                   capture_output=True)
    cache = tmp_path / "mlpilot" / "jax"
    entries = list(cache.iterdir()) if cache.exists() else []
    if setting == "off":
        assert not entries
    else:
        assert entries, "no compiled step was written to the cache"
