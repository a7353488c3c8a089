"""Search spaces written once, used by every search strategy.

A family declares its hyperparameters as :class:`Float`, :class:`Int` or :class:`Categorical`
ranges. The same declaration becomes an Optuna ``trial.suggest_*`` call, a scipy distribution
for ``RandomizedSearchCV``/``HalvingRandomSearchCV``, or a small grid for ``GridSearchCV``,
so the book's three strategies and Optuna search the same space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False

    def suggest(self, trial: Any, name: str) -> float:
        return float(trial.suggest_float(name, self.low, self.high, log=self.log))

    def distribution(self) -> Any:
        if self.log:
            return stats.loguniform(self.low, self.high)
        return stats.uniform(self.low, self.high - self.low)

    def grid(self, n: int) -> list[float]:
        points = (np.geomspace(self.low, self.high, n) if self.log
                  else np.linspace(self.low, self.high, n))
        return [float(f"{p:.4g}") for p in points]


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False

    def suggest(self, trial: Any, name: str) -> int:
        return int(trial.suggest_int(name, self.low, self.high, log=self.log))

    def distribution(self) -> Any:
        if self.log:
            return _IntLogUniform(self.low, self.high)
        return stats.randint(self.low, self.high + 1)

    def grid(self, n: int) -> list[int]:
        points = (np.geomspace(self.low, self.high, n) if self.log
                  else np.linspace(self.low, self.high, n))
        return sorted({round(float(p)) for p in points})


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Any, ...]

    def suggest(self, trial: Any, name: str) -> Any:
        # Optuna stores only None/bool/int/float/str choices: others go by index.
        if all(c is None or isinstance(c, (bool, int, float, str)) for c in self.choices):
            return trial.suggest_categorical(name, list(self.choices))
        index = trial.suggest_categorical(name, list(range(len(self.choices))))
        return self.choices[index]

    def distribution(self) -> list[Any]:
        return list(self.choices)

    def grid(self, n: int) -> list[Any]:
        return list(self.choices)


Dimension = Float | Int | Categorical
Space = Mapping[str, Dimension]


class _IntLogUniform:
    """Integers spread evenly on a log scale (``rvs`` is all RandomizedSearchCV needs)."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def rvs(self, size: Any = None, random_state: Any = None) -> Any:
        draws = stats.loguniform(self.low, self.high + 1).rvs(size=size,
                                                              random_state=random_state)
        return np.floor(draws).astype(int) if size is not None else int(draws)


def suggest(trial: Any, space: Space, prefix: str = "") -> dict[str, Any]:
    """One Optuna draw from ``space``; keys carry ``prefix`` (``"model__"``)."""
    return {prefix + name: dim.suggest(trial, prefix + name) for name, dim in space.items()}


def distributions(space: Space, prefix: str = "") -> dict[str, Any]:
    """``param_distributions`` for sklearn's randomized and halving-random searches."""
    return {prefix + name: dim.distribution() for name, dim in space.items()}


def grid(space: Space, prefix: str = "", points: int = 3,
         keep: Sequence[str] | None = None) -> dict[str, list[Any]]:
    """A small ``param_grid``: ``points`` values per numeric range (only ``keep`` if given)."""
    names = [n for n in space if keep is None or n in keep]
    return {prefix + n: space[n].grid(points) for n in names}
