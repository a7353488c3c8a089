"""Chapter 11's training kit: schedules (1cycle), the LR range test, MC dropout, transfer.

Runs on whichever Keras backend ``KERAS_BACKEND`` selects (JAX by default); tiny synthetic
data so the whole file stays fast.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from mlpilot.deep.backend import keras_module, set_seed
from mlpilot.deep.lr_finder import find_learning_rate
from mlpilot.deep.regularization import (
    MCAlphaDropout,
    MCDropout,
    early_stopping_callbacks,
    max_norm,
    mc_predict,
    with_mc_dropout,
)
from mlpilot.deep.schedules import (
    OneCycleSchedule,
    OneCycleScheduler,
    PerStepScheduler,
    epoch_steps,
    learning_rate_schedule,
    schedule_callbacks,
)
from mlpilot.deep.training_figures import (
    learning_curves_figure,
    lr_finder_figure,
    schedule_figure,
)
from mlpilot.deep.transfer import fine_tune, freeze, reuse_layers, unfreeze
from mlpilot.errors import DeepLearningError

keras = keras_module()


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three separable classes in 8 dimensions (240 rows)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3, size=(3, 8))
    y = np.repeat(np.arange(3), 80)
    X = (centers[y] + rng.normal(size=(240, 8))).astype("float32")
    return X, y.astype("int32")


def mlp(n_out: int = 3, dropout: float = 0.0, batch_norm: bool = False,
        activation: str = "softmax", optimizer: object = None) -> keras.Model:
    set_seed(7)
    layers: list[object] = [keras.Input(shape=(8,))]
    for _ in range(2):
        layers.append(keras.layers.Dense(16, activation="relu"))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(n_out, activation=activation))
    model = keras.Sequential(layers)
    loss = "sparse_categorical_crossentropy" if n_out > 1 else "binary_crossentropy"
    model.compile(loss=loss, optimizer=optimizer or keras.optimizers.SGD(0.05))
    return model


def same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.allclose(p, q, atol=1e-6) for p, q in zip(a, b, strict=True))


def numpy_call(model: keras.Model, X: np.ndarray) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(model(X)))


def lr_of(model: keras.Model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


# --- schedules ---------------------------------------------------------------------------

def test_exponential_schedule_follows_the_book() -> None:
    (callback,) = schedule_callbacks("exponential", learning_rate=0.01, epochs=20,
                                     steps_per_epoch=100)
    assert isinstance(callback, keras.callbacks.LearningRateScheduler)
    assert callback.schedule(0) == pytest.approx(0.01)
    assert callback.schedule(10) == pytest.approx(0.01 * 0.1 ** 0.5)
    assert callback.schedule(20) == pytest.approx(0.001)  # s = epochs: 10× lower at the end
    (custom,) = schedule_callbacks("exponential", learning_rate=0.01, epochs=5,
                                   steps_per_epoch=1, s=20)
    assert custom.schedule(20) == pytest.approx(0.001)


def test_exponential_schedule_sets_the_rate_each_epoch(blobs) -> None:
    X, y = blobs
    model = mlp()
    callbacks = schedule_callbacks("exponential", learning_rate=0.1, epochs=3,
                                   steps_per_epoch=epoch_steps(len(X), 60))
    history = model.fit(X, y, batch_size=60, epochs=3, callbacks=callbacks, verbose=0)
    expected = [0.1 * 0.1 ** (e / 3) for e in range(3)]
    assert history.history["learning_rate"] == pytest.approx(expected, rel=1e-5)


def test_piecewise_schedule_scales_the_book_run() -> None:
    (callback,) = schedule_callbacks("piecewise", learning_rate=0.01, epochs=25,
                                     steps_per_epoch=10)
    lrs = [callback.schedule(e) for e in (0, 4, 5, 14, 15, 24)]
    assert lrs == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.001, 0.001])
    (short,) = schedule_callbacks("piecewise", learning_rate=1.0, epochs=10, steps_per_epoch=1,
                                  boundaries=[3], factors=[1, 0.2])
    assert [short.schedule(e) for e in (2, 3)] == pytest.approx([1.0, 0.2])


def test_power_schedule_is_per_step(blobs) -> None:
    (callback,) = schedule_callbacks("power", learning_rate=0.01, epochs=2, steps_per_epoch=4,
                                     s=4)
    assert isinstance(callback, PerStepScheduler)
    assert callback.schedule(0) == pytest.approx(0.01)
    assert callback.schedule(4) == pytest.approx(0.005)  # η0 / (1 + t/s), c = 1
    X, y = blobs
    model = mlp()
    model.fit(X, y, batch_size=60, epochs=2, callbacks=[callback], verbose=0)
    assert callback.history["learning_rate"] == pytest.approx(
        [0.01 / (1 + t / 4) for t in range(8)])
    assert lr_of(model) == pytest.approx(0.01 / (1 + 7 / 4), rel=1e-5)


def test_plateau_constant_and_unknown_names() -> None:
    (plateau,) = schedule_callbacks("plateau", learning_rate=0.01, epochs=5, steps_per_epoch=3)
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.factor, plateau.patience) == (0.5, 5)
    for name in (None, "constant"):
        assert schedule_callbacks(name, learning_rate=0.01, epochs=5, steps_per_epoch=3) == []
    with pytest.raises(DeepLearningError) as error:
        schedule_callbacks("cosine", learning_rate=0.01, epochs=5, steps_per_epoch=3)
    assert "1cycle" in error.value.hint and "exponential" in error.value.hint
    with pytest.raises(DeepLearningError, match="unknown option"):
        schedule_callbacks("exponential", learning_rate=0.01, epochs=5, steps_per_epoch=3,
                           patience=3)
    with pytest.raises(DeepLearningError):
        schedule_callbacks("1cycle", learning_rate=0.01, epochs=0, steps_per_epoch=3)


def test_schedule_objects_for_the_book_settings() -> None:
    def at(schedule: object, step: int) -> float:
        return float(keras.ops.convert_to_numpy(schedule(step)))

    exponential = learning_rate_schedule("exponential", learning_rate=0.01, epochs=25,
                                         steps_per_epoch=1719)
    assert isinstance(exponential, keras.optimizers.schedules.ExponentialDecay)
    assert at(exponential, 25 * 1719) == pytest.approx(0.001, rel=1e-4)
    piecewise = learning_rate_schedule("piecewise", learning_rate=0.01, epochs=25,
                                       steps_per_epoch=10)
    assert [at(piecewise, s) for s in (0, 60, 200)] == pytest.approx([0.01, 0.005, 0.001])
    power = learning_rate_schedule("power", learning_rate=0.01, epochs=10, steps_per_epoch=10,
                                   s=50)
    assert at(power, 50) == pytest.approx(0.005)
    assert learning_rate_schedule(None, learning_rate=0.01, epochs=1, steps_per_epoch=1) == 0.01
    with pytest.raises(DeepLearningError):
        learning_rate_schedule("plateau", learning_rate=0.01, epochs=1, steps_per_epoch=1)


# --- 1cycle ------------------------------------------------------------------------------

def test_one_cycle_curve_peaks_in_the_middle_and_ends_far_below() -> None:
    scheduler = OneCycleScheduler(1000, max_lr=0.1)
    lrs = np.array([scheduler.learning_rate_at(i) for i in range(1000)])
    momentums = np.array([scheduler.momentum_at(i) for i in range(1000)])
    half = scheduler.half_iteration
    assert lrs[0] == pytest.approx(0.01)  # starts at max_lr / 10
    assert int(lrs.argmax()) == half and lrs.max() == pytest.approx(0.1)
    assert 0.4 < half / 1000 < 0.5
    assert lrs[2 * half] == pytest.approx(0.01)  # back down, then the last 10 %
    assert lrs[-1] < lrs.max() / 100 and lrs[-1] >= 1e-5
    assert np.all(np.diff(lrs[:half]) > 0) and np.all(np.diff(lrs[2 * half:]) < 0)
    assert momentums[0] == pytest.approx(0.95) and momentums[half] == pytest.approx(0.85)
    assert momentums[2 * half] == pytest.approx(0.95) and momentums[-1] == pytest.approx(0.95)
    schedule = OneCycleSchedule(1000, max_lr=0.1)
    steps = [0, 100, half, 600, 2 * half, 950, 999, 1500]
    values = [float(keras.ops.convert_to_numpy(schedule(s))) for s in steps]
    assert values == pytest.approx([scheduler.learning_rate_at(s) for s in steps], rel=1e-4)


def test_one_cycle_sets_the_rate_every_step(blobs) -> None:
    X, y = blobs
    model = mlp(optimizer=keras.optimizers.SGD())  # no momentum: nothing to cycle
    (callback,) = schedule_callbacks("1cycle", learning_rate=0.2, epochs=3,
                                     steps_per_epoch=epoch_steps(len(X), 40))
    model.fit(X, y, batch_size=40, epochs=3, callbacks=[callback], verbose=0)
    lrs = callback.history["learning_rate"]
    assert len(lrs) == 18 and max(lrs) == pytest.approx(0.2)
    assert lrs == pytest.approx([callback.learning_rate_at(i) for i in range(18)])
    assert lr_of(model) == pytest.approx(lrs[-1], rel=1e-5)
    assert callback.history["momentum"] == []


def test_one_cycle_callback_trains_like_the_in_graph_schedule(blobs) -> None:
    """Every step sees its own rate: the callback's run equals the schedule object's, whose
    rate is computed from the optimizer's step count inside the compiled step."""
    X, y = blobs
    with_callback = mlp(optimizer=keras.optimizers.SGD())
    with_callback.fit(X, y, batch_size=40, epochs=2, verbose=0,
                      callbacks=[OneCycleScheduler(12, max_lr=0.3)])
    with_object = mlp(optimizer=keras.optimizers.SGD(OneCycleSchedule(12, max_lr=0.3)))
    with_object.fit(X, y, batch_size=40, epochs=2, verbose=0)
    constant = mlp(optimizer=keras.optimizers.SGD(0.3))
    constant.fit(X, y, batch_size=40, epochs=2, verbose=0)
    assert same_weights(with_callback.get_weights(), with_object.get_weights())
    assert not same_weights(constant.get_weights(), with_object.get_weights())


@pytest.mark.parametrize("optimizer, attribute", [("sgd", "momentum"), ("adam", "beta_1")])
def test_one_cycle_momentum_reaches_the_compiled_step(blobs, optimizer: str,
                                                      attribute: str) -> None:
    """Cycling at a flat 0.5 trains exactly like an optimizer built with 0.5."""
    X, y = blobs

    def make(value: float) -> object:
        if optimizer == "sgd":
            return keras.optimizers.SGD(0.05, momentum=value)
        return keras.optimizers.Adam(0.01, beta_1=value)

    def train(value: float, **options: object) -> tuple[keras.Model, OneCycleScheduler]:
        model = mlp(optimizer=make(value))
        callback = OneCycleScheduler(12, max_lr=0.05, **options)
        model.fit(X, y, batch_size=40, epochs=2, callbacks=[callback], verbose=0)
        return model, callback

    cycled, callback = train(0.9, max_momentum=0.5, min_momentum=0.5)
    reference, _ = train(0.5, cycle_momentum=False)
    untouched, _ = train(0.9, cycle_momentum=False)
    assert callback.history["momentum"] == [0.5] * 12
    assert same_weights(cycled.get_weights(), reference.get_weights())
    assert not same_weights(untouched.get_weights(), reference.get_weights())
    assert getattr(cycled.optimizer, attribute) == 0.9  # given back after training
    assert len(cycled.optimizer.variables) == len(reference.optimizer.variables)
    cycled.fit(X, y, batch_size=40, epochs=1, verbose=0)  # still trains afterwards


def test_schedule_callbacks_refuse_an_optimizer_with_a_schedule(blobs) -> None:
    X, y = blobs
    model = mlp(optimizer=keras.optimizers.SGD(OneCycleSchedule(12, 0.1), momentum=0.9))
    for callback in (OneCycleScheduler(12, 0.1), PerStepScheduler(lambda step: 0.1)):
        with pytest.raises(DeepLearningError, match="schedule"):
            model.fit(X, y, batch_size=40, epochs=1, callbacks=[callback], verbose=0)
    assert model.optimizer.momentum == 0.9
    model.fit(X, y, batch_size=40, epochs=1, verbose=0)


def test_one_cycle_schedule_object_round_trips(tmp_path: Path, blobs) -> None:
    X, y = blobs
    model = mlp(optimizer=keras.optimizers.SGD(learning_rate=OneCycleSchedule(12, 0.1)))
    model.fit(X, y, batch_size=40, epochs=1, verbose=0)
    path = tmp_path / "onecycle.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer._learning_rate, OneCycleSchedule)
    assert loaded.optimizer._learning_rate.get_config() == OneCycleSchedule(12, 0.1).get_config()


# --- learning-rate range test ------------------------------------------------------------

def test_lr_finder_suggests_a_sane_rate_and_restores_the_model() -> None:
    rng = np.random.default_rng(0)  # overlapping classes: the loss cannot reach 0
    X = rng.normal(size=(400, 8)).astype("float32")
    noisy = X @ rng.normal(size=(8, 3)) + rng.normal(size=(400, 3))
    y = noisy.argmax(axis=1).astype("int32")
    model = mlp(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    model.fit(X[:40], y[:40], batch_size=40, epochs=1, verbose=0)  # an optimizer with state
    weights = model.get_weights()
    state = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    result = find_learning_rate(model, X, y, iterations=120, batch_size=16)
    assert same_weights(model.get_weights(), weights)
    assert same_weights([keras.ops.convert_to_numpy(v) for v in model.optimizer.variables], state)
    assert lr_of(model) == pytest.approx(0.01)
    assert len(result.lrs) == len(result.losses) <= 120
    assert result.lrs[0] == pytest.approx(1e-5)
    assert np.all(np.diff(result.lrs) > 0)
    assert result.diverged and result.min_loss_lr < result.divergence_lr
    assert 1e-4 <= result.suggested_lr <= 1.0
    assert result.suggested_lr == pytest.approx(result.min_loss_lr / 10)
    assert result.half_divergence_lr == pytest.approx(result.divergence_lr / 2)
    assert isinstance(result.figure(), Figure)


def test_lr_finder_refuses_bad_input(blobs) -> None:
    X, y = blobs
    model = mlp()
    with pytest.raises(DeepLearningError):
        find_learning_rate(model, X, y, min_lr=1.0, max_lr=0.1)
    scheduled = mlp(optimizer=keras.optimizers.SGD(OneCycleSchedule(10, 0.1)))
    with pytest.raises(DeepLearningError, match="schedule"):
        find_learning_rate(scheduled, X, y)


# --- MC dropout --------------------------------------------------------------------------

def test_mc_dropout_stays_on_at_inference_and_round_trips(tmp_path: Path, blobs) -> None:
    X, _ = blobs
    set_seed(3)
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu"),
                              MCDropout(0.5), keras.layers.Dense(4), MCAlphaDropout(0.3),
                              keras.layers.Dense(3, activation="softmax")])
    first, second = numpy_call(model, X[:20]), numpy_call(model, X[:20])
    assert not np.allclose(first, second)
    predicted = [model.predict(X[:20], verbose=0) for _ in range(2)]
    assert not np.allclose(*predicted)
    path = tmp_path / "mc.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.layers[1].rate == 0.5
    assert same_weights(loaded.get_weights(), model.get_weights())
    assert not np.allclose(numpy_call(loaded, X[:20]), numpy_call(loaded, X[:20]))


def test_mc_predict_averages_stochastic_passes(blobs) -> None:
    X, y = blobs
    model = mlp(dropout=0.3)
    model.fit(X, y, batch_size=40, epochs=2, verbose=0)
    weights = model.get_weights()
    prediction = mc_predict(model, X[:50], n_samples=20, keep_samples=True)
    assert prediction.mean.shape == prediction.std.shape == (50, 3)
    assert prediction.samples is not None and prediction.samples.shape == (20, 50, 3)
    assert np.all(prediction.std >= 0) and prediction.std.max() > 0
    np.testing.assert_allclose(prediction.mean.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(prediction.mean, prediction.samples.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(prediction.std, prediction.samples.std(axis=0), atol=1e-4)
    assert prediction.labels.shape == (50,)
    assert same_weights(model.get_weights(), weights)
    with pytest.raises(DeepLearningError, match="no Dropout"):
        mc_predict(mlp(), X[:5], n_samples=2)


def test_mc_predict_keeps_batch_norm_in_inference_mode(blobs) -> None:
    X, y = blobs
    model = mlp(dropout=0.3, batch_norm=True)
    model.fit(X, y, batch_size=40, epochs=1, verbose=0)
    bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]

    def averages() -> list[np.ndarray]:
        return [np.array(keras.ops.convert_to_numpy(v)) for layer in bn
                for v in (layer.moving_mean, layer.moving_variance)]

    before = averages()
    prediction = mc_predict(model, X * 5 + 3, n_samples=5)  # would move BN's averages
    assert len(bn) == 2 and same_weights(averages(), before)
    assert prediction.std.max() > 0


def test_with_mc_dropout_copies_weights_and_turns_dropout_on(blobs) -> None:
    X, y = blobs
    model = mlp(dropout=0.2)
    model.fit(X, y, batch_size=40, epochs=1, verbose=0)
    mc_model = with_mc_dropout(model)
    assert same_weights(mc_model.get_weights(), model.get_weights())
    assert sum(isinstance(layer, MCDropout) for layer in mc_model.layers) == 2
    assert not any(isinstance(layer, MCDropout) for layer in model.layers)
    plain = model.predict(X[:30], verbose=0)
    np.testing.assert_allclose(plain, model.predict(X[:30], verbose=0))
    assert not np.allclose(mc_model.predict(X[:30], verbose=0),
                           mc_model.predict(X[:30], verbose=0))


def test_mc_predict_on_a_subclassed_model_uses_training_mode(blobs) -> None:
    X, _ = blobs

    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = keras.layers.Dense(16, activation="relu")
            self.dropout = keras.layers.Dropout(0.5)
            self.out = keras.layers.Dense(3, activation="softmax")

        def call(self, inputs: object, training: bool | None = None) -> object:
            return self.out(self.dropout(self.hidden(inputs), training=training))

    set_seed(1)
    net = Net()
    net(X[:2])
    prediction = mc_predict(net, X[:10], n_samples=10, batch_size=4)
    assert prediction.mean.shape == (10, 3) and prediction.std.max() > 0


def test_max_norm_and_early_stopping_helpers(tmp_path: Path) -> None:
    constraint = max_norm(1.0)
    weights = keras.ops.convert_to_tensor(np.full((4, 2), 3.0, dtype="float32"))
    norms = np.linalg.norm(keras.ops.convert_to_numpy(constraint(weights)), axis=0)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    with pytest.raises(DeepLearningError):
        max_norm(0)
    stop, checkpoint = early_stopping_callbacks(tmp_path / "ckpt" / "best.weights.h5",
                                                patience=3)
    assert stop.restore_best_weights and stop.patience == 3
    assert checkpoint.save_best_only and checkpoint.save_weights_only
    with pytest.raises(DeepLearningError, match=r"\.keras"):
        early_stopping_callbacks(tmp_path / "best.h5")


# --- transfer learning -------------------------------------------------------------------

@pytest.fixture()
def model_a(blobs) -> keras.Model:
    X, y = blobs
    model = mlp()
    model.fit(X, y, batch_size=40, epochs=1, verbose=0)
    return model


def test_reuse_layers_leaves_model_a_untouched(blobs, model_a: keras.Model) -> None:
    X, y = blobs
    before = model_a.get_weights()
    model_b = reuse_layers(model_a, 1, "sigmoid")
    assert len(model_b.layers) == len(model_a.layers)
    assert model_b.output_shape == (None, 1)
    assert same_weights(model_b.get_weights()[:-2], before[:-2])  # hidden layers copied
    model_b.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    model_b.fit(X, (y == 0).astype("float32"), batch_size=40, epochs=1, verbose=0)
    assert same_weights(model_a.get_weights(), before)
    assert not same_weights(model_b.get_weights()[:-2], before[:-2])
    shared = reuse_layers(model_a, 1, "sigmoid", clone=False)
    shared.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    shared.fit(X, (y == 0).astype("float32"), batch_size=40, epochs=1, verbose=0)
    assert not same_weights(model_a.get_weights()[:-2], before[:-2])  # shared layers moved
    smaller = reuse_layers(model_a, 2, "softmax", drop_hidden=1)
    assert len(smaller.layers) == len(model_a.layers) - 1
    with pytest.raises(DeepLearningError):
        reuse_layers(model_a, 1, "sigmoid", drop_hidden=2)


def test_reuse_layers_of_a_functional_model(blobs) -> None:
    X, _ = blobs
    inputs = keras.Input(shape=(8,))
    hidden = keras.layers.Dense(5, activation="relu")(inputs)
    functional = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    model_b = reuse_layers(functional, 2, "softmax")
    assert model_b.predict(X[:4], verbose=0).shape == (4, 2)


def test_frozen_layers_do_not_move_and_unfreeze_works(blobs, model_a: keras.Model) -> None:
    X, y = blobs
    target = (y == 1).astype("float32")
    model_b = reuse_layers(model_a, 1, "sigmoid")
    freeze(model_b, "all but output")
    assert [layer.trainable for layer in model_b.layers] == [False, False, True]
    model_b.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    hidden = [layer.get_weights() for layer in model_b.layers[:-1]]
    output = model_b.layers[-1].get_weights()
    model_b.fit(X, target, batch_size=40, epochs=1, verbose=0)
    for layer, weights in zip(model_b.layers[:-1], hidden, strict=True):
        assert same_weights(layer.get_weights(), weights)
    assert not same_weights(model_b.layers[-1].get_weights(), output)
    unfreeze(model_b, 1)
    assert [layer.trainable for layer in model_b.layers] == [False, True, True]
    unfreeze(model_b)
    assert all(layer.trainable for layer in model_b.layers)
    model_b.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    model_b.fit(X, target, batch_size=40, epochs=1, verbose=0)
    assert not same_weights(model_b.layers[0].get_weights(), hidden[0])
    with pytest.raises(DeepLearningError):
        freeze(model_b, 5)


def test_fine_tune_runs_the_two_phases(blobs, model_a: keras.Model) -> None:
    X, y = blobs
    target = (y == 2).astype("float32")
    model_b = reuse_layers(model_a, 1, "sigmoid")
    first = model_b.layers[0].get_weights()
    result = fine_tune(model_b, X, target, frozen_epochs=2, epochs=0, loss="binary_crossentropy",
                       metrics=["accuracy"], learning_rate=0.05, validation_data=(X, target),
                       batch_size=40)
    assert same_weights(model_b.layers[0].get_weights(), first)
    assert len(result.history["loss"]) == 2 and "val_accuracy" in result.history
    result = fine_tune(model_b, X, target, frozen_epochs=1, epochs=2, learning_rate=0.05,
                       fine_tune_learning_rate=0.05, batch_size=40)
    assert len(result.history["loss"]) == 3 and result.frozen_epochs == 1
    assert not same_weights(model_b.layers[0].get_weights(), first)
    assert lr_of(model_b) == pytest.approx(0.05)
    fig = learning_curves_figure(result.history, frozen_epochs=result.frozen_epochs)
    assert isinstance(fig, Figure)


# --- figures -----------------------------------------------------------------------------

def test_training_figures() -> None:
    history = {"loss": [0.9, 0.5, 0.4], "accuracy": [0.6, 0.8, 0.85],
               "val_loss": [0.8, 0.6, 0.5], "val_accuracy": [0.7, 0.78, 0.8],
               "learning_rate": [0.01, 0.01, 0.01]}
    fig = learning_curves_figure(history, title="Fashion-MNIST")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert all(len(ax.get_lines()) == 2 for ax in fig.axes)
    with pytest.raises(ValueError):
        learning_curves_figure({"learning_rate": [0.1]})
    scheduler = OneCycleScheduler(100, 0.1)
    fig = schedule_figure([scheduler.learning_rate_at(i) for i in range(100)],
                          [scheduler.momentum_at(i) for i in range(100)])
    assert len(fig.axes) == 2
    lrs = np.geomspace(1e-5, 10, 50)
    losses = np.r_[np.linspace(2.3, 0.5, 40), np.linspace(0.6, 9, 10)]
    fig = lr_finder_figure(lrs, losses, suggested_lr=1e-2)
    assert fig.axes[0].get_xscale() == "log"
    assert math.isclose(fig.axes[0].get_ylim()[1], 2.3 + 0.5)


# --- recipes (smoke: tiny runs; the lead's recipe test runs them in full) ----------------

def test_recipes_run_end_to_end_on_a_small_sample(data_home: Path) -> None:
    from mlpilot.recipes import ch11_1cycle, ch11_mc_dropout

    mc = ch11_mc_dropout.run(epochs=1, n_samples=3, train_size=2000)
    assert mc.name == "ch11-mc-dropout" and len(mc.comparisons) == 10
    assert all(math.isfinite(c.ours) for c in mc.comparisons)
    onecycle = ch11_1cycle.run(epochs=1, train_size=3200)
    quantities = {c.quantity: c for c in onecycle.comparisons}
    assert quantities["peak learning rate"].ok
    assert quantities["peak ÷ last learning rate (≥ 100)"].ours > 10
    assert quantities["iterations scheduled (ceil(55,000 / 128) × 25)"].ours == 25
