"""What a recipe is: a scripted reproduction of one of the book's runs, book vs ours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Comparison:
    """One reported quantity: the book's figure beside ours, and whether they agree."""

    quantity: str
    book: float
    ours: float
    tolerance: float  # absolute
    fmt: str = "{:.4g}"
    #: For errors mlpilot aims to beat (RMSE ...): a lower figure than the book's is fine.
    lower_is_better: bool = False
    #: For bounds that must hold (precision ≥ 0.90, beats the dummy): a higher figure is fine.
    higher_is_better: bool = False
    #: The book's dataset when it differs from ours (e.g. "MNIST"): its figure is shown for
    #: reference only and never checked.
    reference: str | None = None

    @property
    def ok(self) -> bool:
        if self.reference:
            return True
        return abs(self.ours - self.book) <= self.tolerance or self.better

    @property
    def better(self) -> bool:
        if self.reference:
            return False
        return ((self.lower_is_better and self.ours < self.book - self.tolerance)
                or (self.higher_is_better and self.ours > self.book + self.tolerance))


@dataclass
class RecipeResult:
    name: str
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.comparisons)


@dataclass(frozen=True)
class Recipe:
    name: str
    chapter: int
    title: str
    run: Callable[[], RecipeResult]
