"""Chapter 9, colour segmentation: an image in 10, 8, 6, 4 and 2 colours, via mlpilot.

The book segments a ladybug photo (``ladybug.png``, 533 × 800) that scikit-learn does not
ship; ``load_sample_image("china.jpg")`` (427 × 640) stands in, so there is no book number
to compare, only what must hold: n colours asked, n distinct colours in the output.
"""

from __future__ import annotations

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.unsupervised.segment import BOOK_COLORS, segment

SEED = 42


def run() -> RecipeResult:
    seg = segment("sample:china.jpg", BOOK_COLORS, random_state=SEED)
    out = [Comparison(f"{n} colours asked: distinct colours in the output", n,
                      float(seg.colors_used(n)), 0, "{:.0f}") for n in BOOK_COLORS]
    h, w = seg.original.shape[:2]
    notes = [f"china.jpg: {h}×{w} pixels stand in for the book's 533×800 ladybug "
             "(not shipped with scikit-learn); the figure is what the book shows, the check "
             "is only that the colour count holds",
             "k-means with n_init=10 and random_state=42 on every pixel, as the book"]
    return RecipeResult("ch09-segmentation", out, notes)


RECIPE = Recipe("ch09-segmentation", 9,
                "Colour segmentation of a sample image in 10/8/6/4/2 colours (ch. 9)", run)
