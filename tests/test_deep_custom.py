"""Chapter-12 custom components, the custom training loop and TensorBoard logs, on this backend.

Everything runs on the backend in ``KERAS_BACKEND`` (JAX by default); CI runs this file on JAX
and TensorFlow, and it passes on PyTorch too.
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlpilot.deep.backend import keras_module, set_seed
from mlpilot.deep.custom import (
    Exponential,
    HuberLoss,
    HuberMetric,
    LayerNormalization,
    MyDense,
    MyGaussianNoise,
    MyL1Regularizer,
    ReconstructingRegressor,
    ResidualBlock,
    ResidualRegressor,
    create_huber,
    huber_fn,
    my_glorot_initializer,
    my_l1_regularizer,
    my_positive_weights,
    my_softplus,
    per_batch_results,
    streaming_results,
)
from mlpilot.deep.logs import event_files, run_logdir, tensorboard_callback
from mlpilot.deep.loops import fit_custom_loop
from mlpilot.errors import DeepLearningError

keras = keras_module()
ops = keras.ops


def np_(x: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(320, 8)).astype("float32")
    y = (2 * X[:, :1] + np.sin(X[:, 1:2]) + 0.1 * rng.normal(size=(320, 1))).astype("float32")
    return X, y


def small_model(l2: float = 0.0, nonneg: bool = False) -> Any:
    set_seed(0)
    reg = keras.regularizers.l2(l2) if l2 else None
    return keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu", kernel_initializer="he_normal",
                           kernel_regularizer=reg, name="lower"),
        keras.layers.Dense(1, kernel_regularizer=reg, name="upper",
                           kernel_constraint=keras.constraints.NonNeg() if nonneg else None)])


# --- losses and metrics --------------------------------------------------------------------

def test_huber_fn_is_quadratic_then_linear_one_value_per_instance() -> None:
    y_true = np.zeros((4, 1), "float32")
    y_pred = np.array([[0.5], [-0.5], [1.5], [-3.0]], "float32")
    losses = np_(huber_fn(y_true, y_pred))
    assert losses.shape == (4, 1)  # per instance, not the mean: sample weights still work
    np.testing.assert_allclose(losses.ravel(), [0.125, 0.125, 1.0, 2.5], rtol=1e-6)
    np.testing.assert_allclose(np_(create_huber(2.0)(y_true, y_pred)).ravel(),
                               [0.125, 0.125, 1.125, 4.0], rtol=1e-6)


@pytest.mark.parametrize("threshold", [1.0, 2.0, 0.3])
def test_huber_loss_class_equals_keras_huber(threshold: float) -> None:
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(64, 1)).astype("float32")
    y_pred = (y_true + 3 * rng.normal(size=(64, 1))).astype("float32")
    ours = HuberLoss(threshold)
    builtin = keras.losses.Huber(delta=threshold)
    assert float(np_(ours(y_true, y_pred))) == pytest.approx(float(np_(builtin(y_true, y_pred))),
                                                             abs=1e-6)
    weights = rng.uniform(size=64).astype("float32")
    assert float(np_(ours(y_true, y_pred, sample_weight=weights))) == pytest.approx(
        float(np_(builtin(y_true, y_pred, sample_weight=weights))), abs=1e-6)
    per_instance = np_(HuberLoss(threshold, reduction=None)(y_true, y_pred))
    np.testing.assert_allclose(per_instance.ravel(),
                               np_(keras.losses.Huber(delta=threshold, reduction=None)(
                                   y_true, y_pred)).ravel(), atol=1e-6)


def test_huber_loss_keeps_its_threshold_in_config_and_rejects_bad_ones() -> None:
    loss = HuberLoss(2.0, name="h")
    clone = HuberLoss.from_config(loss.get_config())
    assert clone.threshold == 2.0 and clone.name == "h"
    with pytest.raises(DeepLearningError) as err:
        HuberLoss(0.0)
    assert err.value.hint
    with pytest.raises(DeepLearningError):
        create_huber(-1.0)


def test_huber_metric_streams_total_and_count_like_the_notebook() -> None:
    metric = HuberMetric(2.0)
    assert float(np_(metric.result())) == 0.0  # no data yet: 0, not NaN
    metric.update_state(np.array([[2.0]]), np.array([[10.0]]))  # 2·8 − 2 = 14
    assert float(np_(metric.result())) == pytest.approx(14.0)
    metric.update_state(np.array([[0.0], [5.0]]), np.array([[1.0], [9.25]]))  # + 0.5 + 6.5
    assert float(np_(metric.result())) == pytest.approx(7.0)  # 21 / 3, not mean(14, 3.5)
    assert [float(np_(v)) for v in metric.variables] == pytest.approx([21.0, 3.0])
    metric.reset_state()
    assert [float(np_(v)) for v in metric.variables] == [0.0, 0.0]
    metric.update_state(np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]]),
                        sample_weight=np.array([3.0, 1.0]))
    assert float(np_(metric.result())) == pytest.approx((3 * 0.5 + 4.0) / 4)
    assert HuberMetric.from_config(HuberMetric(2.0, name="hm").get_config()).threshold == 2.0


def test_streaming_precision_differs_from_the_mean_of_batch_values() -> None:
    batches = [([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1]),
               ([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])]
    precision = keras.metrics.Precision()
    assert streaming_results(precision, batches) == pytest.approx([0.8, 0.5])
    assert [float(np_(v)[0]) for v in precision.variables] == [4.0, 4.0]  # TP, FP
    assert np.mean(per_batch_results(precision, batches)) == pytest.approx(0.4)


# --- activation, initializer, regularizer, constraint --------------------------------------

def test_my_softplus_matches_keras_and_does_not_overflow() -> None:
    z = np.linspace(-20, 20, 81).astype("float32")
    np.testing.assert_allclose(np_(my_softplus(z)), np_(keras.activations.softplus(z)),
                               rtol=1e-5, atol=1e-6)
    big = np_(my_softplus(np.array([100.0, 1000.0, -1000.0], "float32")))
    np.testing.assert_allclose(big, [100.0, 1000.0, 0.0], atol=1e-6)  # naive form: inf


def test_my_glorot_initializer_has_glorot_scale() -> None:
    set_seed(3)
    w = np_(my_glorot_initializer((200, 300)))
    assert w.shape == (200, 300) and w.dtype == np.float32
    assert w.std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert abs(w.mean()) < 0.003


def test_regularizers_and_constraint_match_keras_builtins() -> None:
    w = np.random.default_rng(2).normal(size=(5, 4)).astype("float32")
    assert float(np_(my_l1_regularizer(w))) == pytest.approx(
        float(np_(keras.regularizers.L1(0.01)(w))), rel=1e-6)
    assert float(np_(MyL1Regularizer(0.1)(w))) == pytest.approx(
        float(np_(keras.regularizers.L1(0.1)(w))), rel=1e-6)
    assert MyL1Regularizer.from_config(MyL1Regularizer(0.1).get_config()).factor == 0.1
    np.testing.assert_array_equal(np_(my_positive_weights(w)),
                                  np_(keras.constraints.NonNeg()(w)))
    with pytest.raises(DeepLearningError):
        MyL1Regularizer(-1.0)


# --- layers --------------------------------------------------------------------------------

def test_exponential_layer() -> None:
    np.testing.assert_allclose(np_(Exponential()(np.array([-1.0, 0.0, 1.0], "float32"))),
                               [0.36787945, 1.0, 2.7182817], rtol=1e-6)


def test_my_dense_computes_activation_of_affine_map() -> None:
    X = np.random.default_rng(4).normal(size=(6, 3)).astype("float32")
    layer = MyDense(4, activation="relu")
    out = np_(layer(X))
    kernel, bias = (np_(v) for v in layer.weights)
    assert kernel.shape == (3, 4) and bias.shape == (4,)
    np.testing.assert_allclose(out, np.maximum(X @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    clone = MyDense.from_config(layer.get_config())
    assert clone.units == 4 and clone.activation is keras.activations.relu
    with pytest.raises(DeepLearningError):
        MyDense(0)


def test_my_gaussian_noise_only_while_training() -> None:
    X = np.zeros((400, 50), "float32")
    layer = MyGaussianNoise(0.5, seed=7)
    np.testing.assert_array_equal(np_(layer(X)), X)
    np.testing.assert_array_equal(np_(layer(X, training=False)), X)
    noisy = np_(layer(X, training=True))
    assert noisy.std() == pytest.approx(0.5, rel=0.03)


def test_layer_normalization_matches_keras() -> None:
    """Same settings (ε inside the square root) give float32 agreement.

    With the exercise's literal α(X − μ)/(σ + ε) + β the results differ by about
    ε/σ·(1 − 1/(2σ)) relative: visible, but below 1e-3 for features of σ ≈ 1... 10.
    """
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(64, 8)) * rng.uniform(1, 10, size=(64, 1))).astype("float32")
    ours, builtin = LayerNormalization(), keras.layers.LayerNormalization(epsilon=1e-3)
    np.testing.assert_allclose(np_(ours(X)), np_(builtin(X)), atol=2e-6)
    alpha, beta = rng.random(8).astype("float32"), rng.random(8).astype("float32")
    ours.set_weights([alpha, beta])
    builtin.set_weights([alpha, beta])
    np.testing.assert_allclose(np_(ours(X)), np_(builtin(X)), atol=2e-6)
    literal = LayerNormalization(epsilon_inside_sqrt=False)
    literal(X)
    literal.set_weights([alpha, beta])
    gap = np.abs(np_(literal(X)) - np_(builtin(X)))
    assert 1e-6 < gap.max() < 1e-3
    assert LayerNormalization.from_config(literal.get_config()).epsilon_inside_sqrt is False


# --- models --------------------------------------------------------------------------------

def test_residual_block_adds_its_inputs() -> None:
    X = np.random.default_rng(6).normal(size=(5, 4)).astype("float32")
    block = ResidualBlock(2, 4)
    out = np_(block(X))
    z = X
    for layer in block.hidden:
        z = np_(layer(z))
    np.testing.assert_allclose(out, X + z, rtol=1e-5, atol=1e-6)
    with pytest.raises(DeepLearningError):
        ResidualBlock(2, 3)(X)


def test_residual_regressor_reuses_block1(regression: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = regression
    model = ResidualRegressor(2)
    assert np_(model(X[:7])).shape == (7, 2)
    # hidden1 (2) + block1 (4, applied 4 times) + block2 (4) + out (2): 12, not 24
    assert len(model.trainable_variables) == 12


def test_reconstructing_regressor_trains_the_auxiliary_loss(
        regression: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = regression
    set_seed(1)
    model = ReconstructingRegressor(1, reconstruction_weight=2.0)
    model.compile(loss="mse", optimizer="nadam")
    model(X[:1])
    head = np_(model.reconstruct.kernel).copy()
    history = model.fit(X, y, epochs=2, batch_size=32, verbose=0,
                        validation_data=(X[:64], y[:64])).history
    # the reconstruction head only gets gradients through add_loss
    assert not np.allclose(np_(model.reconstruct.kernel), head)
    assert {"loss", "reconstruction_error", "val_loss", "val_reconstruction_error"} <= set(
        history)
    assert history["reconstruction_error"][1] < history["reconstruction_error"][0]
    scores = model.evaluate(X, y, verbose=0, return_dict=True)
    mse = float(np.mean((model.predict(X, verbose=0) - y) ** 2))
    assert scores["loss"] == pytest.approx(mse + 2.0 * scores["reconstruction_error"], rel=1e-4)


def test_models_using_every_component_round_trip_without_custom_objects(
        tmp_path: Path, regression: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = regression
    set_seed(2)
    inputs = keras.Input((8,))
    z = MyGaussianNoise(0.1, seed=1)(inputs)
    z = LayerNormalization()(z)
    z = MyDense(16, activation="relu")(z)
    z = ResidualBlock(2, 16)(z)
    z = keras.layers.Dense(8, activation=my_softplus, kernel_initializer=my_glorot_initializer,
                           kernel_regularizer=MyL1Regularizer(0.01),
                           bias_regularizer=my_l1_regularizer,
                           kernel_constraint=my_positive_weights)(z)
    outputs = Exponential()(keras.layers.Dense(1)(z))
    functional = keras.Model(inputs, outputs)
    functional.compile(loss=HuberLoss(2.0), optimizer="nadam", metrics=[HuberMetric(2.0)])
    set_seed(2)
    residual = ResidualRegressor(1, n_neurons=8)
    residual.compile(loss=huber_fn, optimizer="nadam")
    reconstructing = ReconstructingRegressor(1, n_hidden=2, n_neurons=8)
    reconstructing.compile(loss="mse", optimizer="nadam")
    for i, model in enumerate((functional, residual, reconstructing)):
        model.fit(X, np.abs(y), epochs=1, batch_size=64, verbose=0)
        path = tmp_path / f"model{i}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)  # no custom_objects
        np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    dense = next(layer for layer in keras.models.load_model(tmp_path / "model0.keras").layers
                 if layer.name.startswith("dense") and layer.activation is my_softplus)
    assert dense.kernel_regularizer.factor == 0.01
    assert dense.kernel_constraint is my_positive_weights
    assert keras.models.load_model(tmp_path / "model0.keras").loss.threshold == 2.0


# --- custom training loop ------------------------------------------------------------------

def test_custom_loop_matches_fit(regression: tuple[np.ndarray, np.ndarray]) -> None:
    """Same weights, same batches (no shuffling), regularization and a constraint: same run."""
    X, y = regression
    data = {"epochs": 3, "batch_size": 32, "validation_data": (X[:64], y[:64])}
    reference = small_model(l2=0.01, nonneg=True)
    reference.compile(loss="mse", optimizer=keras.optimizers.SGD(0.01), metrics=["mae"])
    fitted = reference.fit(X, y, shuffle=False, verbose=0, **data).history
    model = small_model(l2=0.01, nonneg=True)
    ours = fit_custom_loop(model, X, y, loss_fn="mse", optimizer=keras.optimizers.SGD(0.01),
                           metrics=["mae"], shuffle=False, verbose=0, **data)
    assert set(ours) == {"loss", "mae", "val_loss", "val_mae"}
    for key in ours:
        np.testing.assert_allclose(ours[key], fitted[key], rtol=2e-3, err_msg=key)
    assert ours["loss"][-1] < ours["loss"][0]
    assert np_(model.get_layer("upper").kernel).min() >= 0.0  # the constraint held


def test_custom_loop_two_optimizers_for_lower_and_upper_layers(
        regression: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = regression
    model = small_model()
    lower, upper = model.get_layer("lower"), model.get_layer("upper")
    before = [np_(v).copy() for v in (lower.kernel, upper.kernel)]
    history = fit_custom_loop(model, X, y, epochs=1, verbose=0, optimizer=[
        (lower, keras.optimizers.SGD(learning_rate=0.0)),
        ([upper], keras.optimizers.Nadam(learning_rate=1e-2))])
    np.testing.assert_array_equal(np_(lower.kernel), before[0])
    assert not np.allclose(np_(upper.kernel), before[1])
    assert np.isfinite(history["loss"][0])
    with pytest.raises(DeepLearningError, match="no optimizer"):
        fit_custom_loop(small_model(), X, y, optimizer={lower: "sgd"}, verbose=0)
    shared = keras.optimizers.SGD()
    with pytest.raises(DeepLearningError, match="reuses"):
        fit_custom_loop(model, X, y, optimizer=[(lower, shared), (upper, shared)], verbose=0)
    with pytest.raises(DeepLearningError, match="two optimizers"):
        fit_custom_loop(model, X, y, optimizer=[(model.layers, "sgd"), (upper, "adam")],
                        verbose=0)


def test_custom_loop_trains_model_losses_from_add_loss(
        regression: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = regression
    set_seed(4)
    model = ReconstructingRegressor(1, n_hidden=2, n_neurons=8)
    model(X[:1])
    head = np_(model.reconstruct.kernel).copy()
    fit_custom_loop(model, X, y, optimizer="adam", epochs=1, verbose=0)
    assert not np.allclose(np_(model.reconstruct.kernel), head)


def test_custom_loop_callbacks_status_line_and_errors(
        regression: tuple[np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]) -> None:
    X, y = regression
    seen: list[int] = []

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            seen.append(epoch)
            assert logs is not None and "loss" in logs
            if epoch == 1:
                self.model.stop_training = True

    history = fit_custom_loop(small_model(), X, y, optimizer="adam", epochs=5, verbose=1,
                              callbacks=[StopAfterTwo()])
    assert seen == [0, 1] and len(history["loss"]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and re.match(r"Epoch 1/5 - 10/10 steps - .*loss: \d", lines[0])
    for bad in ({"optimizer": "adamz"}, {"loss_fn": "nope"}, {"metrics": ["nope"]},
                {"epochs": 0}):
        with pytest.raises(DeepLearningError) as err:
            fit_custom_loop(small_model(), X, y, verbose=0, **bad)  # type: ignore[arg-type]
        assert err.value.hint
    with pytest.raises(DeepLearningError, match="rows"):
        fit_custom_loop(small_model(), X, y[:-1], verbose=0)


# --- TensorBoard logs ----------------------------------------------------------------------

def test_run_logdir_is_the_books_format(tmp_path: Path) -> None:
    when = time.strptime("2024-03-05 14:07:09", "%Y-%m-%d %H:%M:%S")
    assert run_logdir(tmp_path / "my_logs", when) == tmp_path / "my_logs" / \
        "run_2024_03_05_14_07_09"
    assert re.fullmatch(r"run_\d{4}(_\d{2}){5}", run_logdir().name)
    assert run_logdir().parent == Path("logs")


@pytest.mark.skipif(any(importlib.util.find_spec(name) is None
                        for name in ("tensorflow", "tensorboard")),
                    reason="TensorBoard event files need the tensorflow and tensorboard "
                    "packages (TensorFlow >= 2.20 no longer installs tensorboard)")
def test_tensorboard_writes_train_and_validation_events(
        tmp_path: Path, regression: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = regression
    logdir = run_logdir(tmp_path)
    model = small_model()
    model.compile(loss="mse", optimizer="sgd")
    model.fit(X, y, epochs=2, verbose=0, validation_data=(X[:64], y[:64]),
              callbacks=[tensorboard_callback(logdir)])
    files = event_files(logdir)
    assert files.get("train") and files.get("validation")


def test_tensorboard_without_tensorflow_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import mlpilot.deep.logs as logs

    real = importlib.util.find_spec
    monkeypatch.setattr(logs.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(DeepLearningError, match="need tensorboard") as err:
        tensorboard_callback("logs/x")
    assert "pip install tensorflow-cpu tensorboard" in (err.value.hint or "")


# --- recipe ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_recipe_ch12_custom_huber_matches_the_book(data_home: Path) -> None:
    from mlpilot.recipes.ch12_custom_huber import RECIPE

    result = RECIPE.run()
    assert not [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
