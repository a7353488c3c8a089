"""The options of mlpilot's deep-training kit: optimizers, activations, initializers, presets.

Chapter 11 of the book is a catalogue of choices (Tables 11-1 to 11-4): which initializer
goes with which activation, which optimizer converges fast, what a sensible default network
looks like. This module turns that catalogue into names a user (or a search) can pick from,
and builds the Keras objects from them. Unknown names raise :class:`DeepLearningError`
listing the valid ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

keras = keras_module()

# ----------------------------------------------------------------------------- optimizers
#: Optimizer names (Table 11-2). ``momentum`` and ``nesterov`` are SGD with momentum 0.9.
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamax", "nadam",
              "adamw")
#: The learning rates the book uses when it names none (SGD: Keras's 0.01; the momentum and
#: Nesterov examples: 0.001; the adaptive methods: 0.001).
DEFAULT_LEARNING_RATES = {"sgd": 0.01, "momentum": 0.001, "nesterov": 0.001, "adagrad": 0.001,
                          "rmsprop": 0.001, "adam": 0.001, "adamax": 0.001, "nadam": 0.001,
                          "adamw": 0.001}
#: Momentum of the ``momentum`` / ``nesterov`` optimizers (the book's beta).
BOOK_MOMENTUM = 0.9
#: AdamW's decoupled weight decay in the book's example (Keras's own default is 0.004).
BOOK_WEIGHT_DECAY = 1e-5


def check_choice(kind: str, name: Any, choices: tuple[str, ...]) -> str:
    """``name`` lower-cased if it is one of ``choices``, else a :class:`DeepLearningError`."""
    key = str(name).strip().lower() if isinstance(name, str) else name
    if key not in choices:
        raise DeepLearningError(f"unknown {kind} {name!r}", f"choose among: {', '.join(choices)}")
    return str(key)


def make_optimizer(name: str, learning_rate: float | None = None, *, momentum: float = 0.0,
                   nesterov: bool = False, weight_decay: float | None = None,
                   clipnorm: float | None = None,
                   clipvalue: float | None = None) -> Any:
    """A fresh Keras optimizer with the book's hyperparameters (section 11.1.g).

    ``momentum``/``nesterov`` apply to SGD (``"momentum"`` and ``"nesterov"`` already mean
    momentum 0.9); RMSprop uses rho 0.9, Adam-family beta_1 0.9 and beta_2 0.999; AdamW's
    weight decay defaults to the book's 1e-5. ``clipnorm`` rescales a gradient whose norm is
    above it (keeps its direction), ``clipvalue`` clips each component (section 11.1.e).
    """
    key = check_choice("optimizer", name, OPTIMIZERS)
    lr = DEFAULT_LEARNING_RATES[key] if learning_rate is None else float(learning_rate)
    if lr <= 0:
        raise DeepLearningError(f"learning_rate must be positive, got {learning_rate!r}",
                                "try 1e-3 (Adam family) or 1e-2 (SGD)")
    if not 0.0 <= momentum < 1.0:
        raise DeepLearningError(f"momentum must be in [0, 1), got {momentum!r}",
                                "the book uses 0.9")
    common: dict[str, Any] = {"learning_rate": lr, "clipnorm": clipnorm, "clipvalue": clipvalue}
    if key != "adamw":
        common["weight_decay"] = weight_decay
    optimizers = keras.optimizers
    if key in ("sgd", "momentum", "nesterov"):
        if key != "sgd" and not momentum:
            momentum = BOOK_MOMENTUM
        return optimizers.SGD(momentum=momentum, nesterov=nesterov or key == "nesterov",
                              **common)
    if key == "adagrad":
        return optimizers.Adagrad(epsilon=1e-10, **common)
    if key == "rmsprop":
        return optimizers.RMSprop(rho=0.9, **common)
    betas = {"beta_1": 0.9, "beta_2": 0.999}
    if key == "adam":
        return optimizers.Adam(**betas, **common)
    if key == "adamax":
        return optimizers.Adamax(**betas, **common)
    if key == "nadam":
        return optimizers.Nadam(**betas, **common)
    decay = BOOK_WEIGHT_DECAY if weight_decay is None else weight_decay
    return optimizers.AdamW(weight_decay=decay, **betas, **common)


# ----------------------------------------------------------------------------- activations
#: Hidden-layer activations (section 11.1.c). All are Keras 3 built-ins: ``leaky_relu`` has
#: the book's slope 0.2 (the ``LeakyReLU`` layer's default is 0.3), ``swish`` is SiLU, and
#: ``mish`` (not in TF 2's Keras) is built in since Keras 3.
ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "mish", "tanh", "sigmoid",
               "softplus")
#: Initializers (Table 11-1). Keras's own default is ``glorot_uniform``.
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal",
                "lecun_uniform")
#: Activations that want He initialisation (Table 11-1).
HE_ACTIVATIONS = frozenset({"relu", "leaky_relu", "elu", "gelu", "swish", "mish"})


def check_activation(name: str) -> str:
    """The activation's Keras name, or :class:`DeepLearningError` listing the valid ones."""
    return check_choice("activation", name, ACTIVATIONS)


def check_initializer(name: str) -> str:
    """The initializer's Keras name, or :class:`DeepLearningError` listing the valid ones."""
    return check_choice("kernel initializer", name, INITIALIZERS)


def default_initializer(activation: str | None) -> str:
    """Table 11-1: He for the ReLU family, ELU, GELU, Swish and Mish; LeCun for SELU; else
    Glorot (none, tanh, sigmoid, softmax, softplus)."""
    key = (activation or "linear").lower()
    if key in HE_ACTIVATIONS:
        return "he_normal"
    if key == "selu":
        return "lecun_normal"
    return "glorot_uniform"


# ----------------------------------------------------------------------------- presets
#: Networks with at least this many hidden layers count as "deep" for the presets (more than
#: Table 10-1's typical 1-5): the default preset switches to Swish and batch norm there.
DEEP_LAYERS = 6
BATCH_NORMS = ("none", "before", "after")


@dataclass(frozen=True)
class Preset:
    """A whole training configuration, from the architecture to the stopping rule."""

    name: str
    summary: str
    n_hidden: int
    n_neurons: int | tuple[int, ...]
    activation: str
    deep_activation: str  # used from DEEP_LAYERS hidden layers on
    kernel_initializer: str | None  # None: default_initializer(activation)
    batch_norm: str  # "none" | "before" | "after" (of the activation)
    deep_batch_norm: str
    dropout: float
    optimizer: str
    learning_rate: float
    momentum: float
    schedule: str | None
    epochs: int
    batch_size: int
    early_stopping: bool
    patience: int
    validation_fraction: float
    label_smoothing: float = 0.0  # classifiers only: targets 1 - ε + ε/K and ε/K

    def activation_for(self, n_hidden: int) -> str:
        return self.deep_activation if n_hidden >= DEEP_LAYERS else self.activation

    def batch_norm_for(self, n_hidden: int) -> str:
        return self.deep_batch_norm if n_hidden >= DEEP_LAYERS else self.batch_norm


PRESETS: dict[str, Preset] = {
    "book": Preset(
        "book", "chapter 10's MLP: 2 ReLU layers (300, 100), Glorot, plain SGD lr 0.01, "
        "batch 32, 30 epochs, no early stopping",
        n_hidden=2, n_neurons=(300, 100), activation="relu", deep_activation="relu",
        kernel_initializer="glorot_uniform", batch_norm="none", deep_batch_norm="none",
        dropout=0.0, optimizer="sgd", learning_rate=0.01, momentum=0.0, schedule=None,
        epochs=30, batch_size=32, early_stopping=False, patience=10, validation_fraction=0.1),
    "default": Preset(
        "default", "Table 11-3: He init, ReLU (Swish + batch norm when deep), AdamW, "
        "performance scheduling, early stopping",
        n_hidden=3, n_neurons=100, activation="relu", deep_activation="swish",
        kernel_initializer=None, batch_norm="none", deep_batch_norm="after", dropout=0.0,
        optimizer="adamw", learning_rate=1e-3, momentum=0.0, schedule="plateau", epochs=100,
        batch_size=32, early_stopping=True, patience=10, validation_fraction=0.1),
    "self_normalizing": Preset(
        "self_normalizing", "Table 11-4: LeCun normal init, SELU, no batch norm, alpha "
        "dropout if any, Nesterov SGD, 1cycle, early stopping",
        n_hidden=3, n_neurons=100, activation="selu", deep_activation="selu",
        kernel_initializer="lecun_normal", batch_norm="none", deep_batch_norm="none",
        dropout=0.0, optimizer="nesterov", learning_rate=0.01, momentum=0.9,
        schedule="1cycle", epochs=50, batch_size=32, early_stopping=True, patience=10,
        validation_fraction=0.1),
    "fast": Preset(
        "fast", "for the shortlist: 2 ReLU layers of 64, He init, Adam lr 3e-3, batch 128, "
        "at most 100 epochs with early stopping (patience 10)",
        n_hidden=2, n_neurons=64, activation="relu", deep_activation="swish",
        kernel_initializer=None, batch_norm="none", deep_batch_norm="after", dropout=0.0,
        optimizer="adam", learning_rate=3e-3, momentum=0.0, schedule=None, epochs=100,
        batch_size=128, early_stopping=True, patience=10, validation_fraction=0.1),
    "images": Preset(
        "images", "for small images such as Fashion-MNIST: 2 Swish layers (256, 128), He init, "
        "dropout 0.1, Nadam with 1cycle to lr 6e-3, batch 512, 10 epochs, label smoothing 0.1",
        n_hidden=2, n_neurons=(256, 128), activation="swish", deep_activation="swish",
        kernel_initializer=None, batch_norm="none", deep_batch_norm="after", dropout=0.1,
        optimizer="nadam", learning_rate=6e-3, momentum=0.0, schedule="1cycle", epochs=10,
        batch_size=512, early_stopping=False, patience=5, validation_fraction=0.1,
        label_smoothing=0.1),
}


def get_preset(name: str | None) -> Preset:
    """The preset called ``name`` (None: ``"default"``)."""
    key = check_choice("preset", "default" if name is None else name, tuple(PRESETS))
    return PRESETS[key]


def check_batch_norm(value: bool | str | None) -> str:
    """``"none"``, ``"before"`` or ``"after"`` (True means after, the book's first layout)."""
    if value is None or value is False:
        return "none"
    if value is True:
        return "after"
    return check_choice("batch_norm", value, BATCH_NORMS)
