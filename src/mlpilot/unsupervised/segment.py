"""Colour segmentation: k-means on an image's pixels, each pixel repainted in its centroid.

The book's example (figure 9-12): every pixel is a point in RGB space; k-means with
``n_colors`` clusters finds the main colours, and ``cluster_centers_[labels_]`` paints each
pixel with its cluster's mean colour. Small distinctive regions (the book's red ladybug)
only get their own colour once ``n_colors`` is large enough: k-means prefers clusters of
similar size. The book's ladybug image is not shipped with scikit-learn; the sample image
``china.jpg`` (``sklearn.datasets.load_sample_image``) stands in for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from mlpilot.atomic import write_text, write_with
from mlpilot.errors import UnsupervisedError

__all__ = ["BOOK_COLORS", "Segmentation", "load_image", "segment", "segment_image"]

#: The colour counts of the book's figure 9-12.
BOOK_COLORS = (10, 8, 6, 4, 2)
SAMPLE_PREFIX = "sample:"
#: The images scikit-learn ships (``load_sample_image``).
SAMPLE_IMAGES = ("china.jpg", "flower.jpg")


def load_image(source: str | os.PathLike[str]) -> np.ndarray:
    """An H×W×3 RGB array from a file, or ``sample:china.jpg`` / ``sample:flower.jpg``."""
    text = str(source)
    if text.startswith(SAMPLE_PREFIX):
        from sklearn.datasets import load_sample_image

        name = text[len(SAMPLE_PREFIX):]
        if name not in SAMPLE_IMAGES:
            choices = ", ".join(SAMPLE_PREFIX + n for n in SAMPLE_IMAGES)
            raise UnsupervisedError(f"no sample image {name!r}", f"use one of: {choices}")
        return np.asarray(load_sample_image(name))
    path = Path(text)
    if not path.exists():
        raise UnsupervisedError(f"no image file {path}", "check the path")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise UnsupervisedError(f"{path.name} is not an image Pillow can read",
                                "pass a PNG or JPEG file") from exc


def _check_image(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.shape[0] * array.shape[1] == 0:
        raise UnsupervisedError(f"expected an H×W×3 colour image, got shape {array.shape}",
                                "pass an RGB image (e.g. load_image('sample:china.jpg'))")
    return array[:, :, :3]


def segment_image(image: np.ndarray, n_colors: int, *, random_state: int = 42,
                  n_init: int = 10) -> np.ndarray:
    """``image`` repainted with ``n_colors`` colours (k-means on its pixels), same shape/type.

    ``n_init=10`` as the book ran it (scikit-learn's default was 10 then).
    """
    array = _check_image(image)
    if n_colors < 1:
        raise UnsupervisedError(f"n_colors must be at least 1, got {n_colors}",
                                "pass --colors 2 or more")
    pixels = array.reshape(-1, 3).astype(float)
    distinct = len(np.unique(pixels, axis=0)) if len(pixels) <= 1_000_000 else len(pixels)
    if n_colors > distinct:
        raise UnsupervisedError(f"the image has only {distinct} distinct colours, "
                                f"fewer than n_colors={n_colors}",
                                f"pass --colors {distinct} or fewer")
    kmeans = KMeans(n_clusters=n_colors, n_init=n_init, random_state=random_state).fit(pixels)
    painted = kmeans.cluster_centers_[kmeans.labels_].reshape(array.shape)
    if np.issubdtype(array.dtype, np.integer):
        return np.clip(np.rint(painted), 0, np.iinfo(array.dtype).max).astype(array.dtype)
    return painted.astype(array.dtype)


@dataclass
class Segmentation:
    """An image and its versions in fewer colours (``segmented[n]`` has n colours)."""

    original: np.ndarray
    segmented: dict[int, np.ndarray]
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def colors_used(self, n: int) -> int:
        """How many distinct colours the ``n``-colour version really holds."""
        return len(np.unique(self.segmented[n].reshape(-1, 3), axis=0))

    def summary(self) -> list[str]:
        h, w = self.original.shape[:2]
        counts = ", ".join(f"{n} → {self.colors_used(n)}" for n in sorted(self.segmented))
        return [f"{self.source or 'the image'}: {h}×{w} pixels ({h * w:,}), each a point in "
                "RGB space; k-means finds the main colours and repaints every pixel with "
                "its cluster's mean colour.",
                f"Colours asked → distinct colours in the output: {counts}.",
                "Small distinctive regions only get their own colour once there are enough "
                "colours: k-means prefers clusters of similar size.", *self.notes]

    def to_dict(self) -> dict[str, Any]:
        return {"step": "segment", "source": self.source,
                "shape": list(self.original.shape),
                "colors": {str(n): self.colors_used(n) for n in sorted(self.segmented)},
                "summary": self.summary()}

    def figure(self) -> Any:
        from mlpilot.unsupervised.cluster_figures import segmentation_figure

        return segmentation_figure(self.original, self.segmented)

    def write_image(self, path: str | os.PathLike[str], n: int) -> Path:
        """The ``n``-colour version as a PNG file."""
        from PIL import Image

        img = self.segmented[n]
        if not np.issubdtype(img.dtype, np.integer):
            img = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
        return write_with(path, lambda p: Image.fromarray(img.astype(np.uint8)).save(
            p, format="PNG"))

    def write_report(self, directory: str | os.PathLike[str]) -> Path:
        """``cluster.html`` (the figure) and ``cluster.json`` in ``directory``."""
        from mlpilot.unsupervised.page import Section, write_page

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "cluster.json", json.dumps(self.to_dict(), indent=2))
        h, w = self.original.shape[:2]
        section = Section("Colour segmentation", self.summary(), figures=[
            ("Image segmentation by colour clustering", self.figure(),
             "The original, then the same image repainted with fewer and fewer colours "
             "(the book's figure 9-12).")])
        return write_page(out / "cluster.html", "Colour segmentation", [section],
                          cards=[("pixels", f"{h * w:,}"),
                                 ("colour counts", ", ".join(map(str, sorted(self.segmented,
                                                                             reverse=True))))],
                          subtitle=self.source)


def segment(image: np.ndarray | str | os.PathLike[str],
            colors: Sequence[int] = BOOK_COLORS, *, random_state: int = 42,
            n_init: int = 10) -> Segmentation:
    """Segment ``image`` (an array, a path or ``sample:NAME``) into each count in ``colors``."""
    source = "" if isinstance(image, np.ndarray) else str(image)
    array = _check_image(load_image(image) if source else image)
    notes = []
    if source.startswith(SAMPLE_PREFIX):
        notes.append("The book's ladybug image is not shipped with scikit-learn; "
                     f"{source[len(SAMPLE_PREFIX):]} (a scikit-learn sample image) stands in.")
    segmented = {int(n): segment_image(array, int(n), random_state=random_state, n_init=n_init)
                 for n in dict.fromkeys(colors)}
    return Segmentation(array, segmented, source, notes)
