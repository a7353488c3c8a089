"""Neural networks (Chapters 10-11): a Keras multilayer perceptron on the ``scaled`` preparation.

Defaults and why:

* ``mlp``: :class:`~mlpilot.deep.estimators.KerasRegressor` / ``KerasClassifier`` with the
  kit's ``"fast"`` preset: two ReLU layers of 64 with He initialisation, Adam, batches of 128
  and early stopping on a tenth of the training rows (the book: "no need to tune the number
  of epochs, use early stopping"). On a housing-sized table (16k rows) a fit takes seconds,
  so it fits in the default shortlist. Regression learns a standardized target
  (``TransformedTargetRegressor``): house prices in dollars would otherwise need thousands of
  epochs to reach their scale. Multilabel tables get one sigmoid output per label (Table
  10-2), no wrapper.
* The search space is the book's Keras Tuner space (section 10.1.l): 1-5 hidden layers of
  16-256 neurons (log scale), learning rate 1e-4-1e-2 (log), SGD or Adam (plus Nadam), and
  the batch size the book's ``HyperModel`` tunes, with dropout (section 11.1.i).

Keras and its backend are imported when a network is first fitted, not when the candidate is
built, so listing the zoo stays fast; without Keras the candidate is unavailable.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator

from mlpilot.deep.estimators import KerasClassifier, KerasRegressor
from mlpilot.models.linear import scaled_target
from mlpilot.models.space import Categorical, Float, Int
from mlpilot.models.zoo import Candidate, per_task

#: The preset the zoo's network starts from (see :data:`mlpilot.deep.kit.PRESETS`).
ZOO_PRESET = "fast"


def build_mlp(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return scaled_target(KerasRegressor(preset=ZOO_PRESET, random_state=seed))
    return KerasClassifier(preset=ZOO_PRESET, random_state=seed)


_MLP_SPACE = {
    "n_hidden": Int(1, 5),
    "n_neurons": Int(16, 256, log=True),
    "learning_rate": Float(1e-4, 1e-2, log=True),
    "optimizer": Categorical(("adam", "nadam", "sgd")),
    "batch_size": Categorical((32, 64, 128, 256)),
    "dropout": Float(0.0, 0.5),
}

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("mlp", "neural", 45, build_mlp, prep="scaled", requires="keras",
              task_spaces=per_task(
                  regression={f"regressor__{k}": v for k, v in _MLP_SPACE.items()},
                  classification=_MLP_SPACE),
              key_param="learning_rate", seed_varies=True, keeps_fold_models=False,
              summary="Keras multilayer perceptron (2 x 64 ReLU, Adam, early stopping)"),
)
