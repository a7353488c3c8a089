"""The dataset catalog: the book's datasets and scikit-learn's bundled ones, by name.

Files live in the data home (``$MLPILOT_DATA_HOME``, else a user cache), laid out as
``housing/housing.csv``, ``lifesat/lifesat.csv``, ``titanic/{train,test}.csv`` and
``fashion-mnist/*-ubyte.gz``. A missing file is looked for in system directories (Debian's
``/usr/share/datasets``), then downloaded from its public source with a progress bar and
checked against its SHA-256 before it is put in place (atomically).
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlpilot import settings
from mlpilot.atomic import atomic_path, sha256_file
from mlpilot.errors import ChecksumError, DatasetNotFoundError

BOOK_DATA_URL = "https://github.com/ageron/data/raw/main/"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class RemoteFile:
    """One file of the data home: where it goes, its checksum, and where to fetch it."""

    path: str  # relative to the data home
    sha256: str
    url: str  # relative to ``base``
    base: str = BOOK_DATA_URL
    member: str | None = None  # path inside a .tgz archive, when ``url`` is one


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    target: str | None
    task: str
    rows: str
    origin: str  # "book" (data home) or "sklearn" (bundled, offline)
    files: tuple[RemoteFile, ...] = ()
    loader: Callable[..., pd.DataFrame] | None = field(default=None, compare=False)


def _housing(subset: str = "all") -> pd.DataFrame:
    return pd.read_csv(fetch_file("housing/housing.csv"))


def _lifesat(subset: str = "all") -> pd.DataFrame:
    name = "lifesat_full.csv" if subset == "full" else "lifesat.csv"
    return pd.read_csv(fetch_file(f"lifesat/{name}"))


def _titanic(subset: str = "train") -> pd.DataFrame:
    if subset not in ("train", "test"):
        raise DatasetNotFoundError(f"titanic has subsets 'train' and 'test', not {subset!r}")
    return pd.read_csv(fetch_file(f"titanic/{subset}.csv"))


def _fashion_mnist(subset: str = "train") -> pd.DataFrame:
    if subset not in ("train", "test"):
        raise DatasetNotFoundError(f"fashion_mnist has subsets 'train' and 'test', not {subset!r}")
    prefix = "train" if subset == "train" else "t10k"
    images = read_idx(fetch_file(f"fashion-mnist/{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(fetch_file(f"fashion-mnist/{prefix}-labels-idx1-ubyte.gz"))
    pixels = images.reshape(len(images), -1)
    frame = pd.DataFrame(pixels, columns=[f"pixel{i}" for i in range(pixels.shape[1])])
    frame["label"] = labels.astype("int64")
    return frame


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetNotFoundError(f"{path} is not an IDX file of unsigned bytes",
                                   "delete it so that mlpilot fetches it again")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _sklearn(name: str) -> Callable[..., pd.DataFrame]:
    def load(subset: str = "all", **kwargs: object) -> pd.DataFrame:
        from sklearn import datasets as skd

        if name == "moons":
            params: dict = {"n_samples": 500, "noise": 0.30, "random_state": 42} | kwargs
            X, y = skd.make_moons(**params)
            return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "label": y})
        bunch = getattr(skd, f"load_{name}")(as_frame=True)
        frame = bunch.frame.copy()
        target_name = _SKLEARN_TARGETS[name]
        frame = frame.rename(columns={"target": target_name})
        if name in ("iris", "wine", "breast_cancer"):
            names = np.asarray(bunch.target_names)
            frame[target_name] = names[frame[target_name].to_numpy()]
        if name == "digits":
            frame.columns = [c.replace("pixel_", "pixel") for c in frame.columns]
        return frame

    return load


_SKLEARN_TARGETS = {"iris": "species", "digits": "digit", "wine": "cultivar",
                    "breast_cancer": "diagnosis", "diabetes": "progression"}

_FASHION_FILES = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "housing", "California housing, 1990 census (book ch. 2)", "median_house_value",
            "regression", "20,640", "book",
            (RemoteFile("housing/housing.csv",
                        "2364609dc48bec7df3ba9dbb7041478e704ecddcee70ef1827ec3fc49d22c0cc",
                        "housing.tgz", member="housing/housing.csv"),),
            _housing),
        DatasetInfo(
            "lifesat", "Life satisfaction vs GDP per capita (book ch. 1)", "Life satisfaction",
            "regression", "27 (36 with subset='full')", "book",
            (RemoteFile("lifesat/lifesat.csv",
                        "e247f7f6c19b0d8c55fb2af293f4fb3b710e31476534ad8e9b7e06ea546a2099",
                        "lifesat/lifesat.csv"),
             RemoteFile("lifesat/lifesat_full.csv",
                        "922c0a35b25d55834d08a0af8feff9f1b0b4363b5f1b5e137e5dcf919bb4ff80",
                        "lifesat/lifesat_full.csv")),
            _lifesat),
        DatasetInfo(
            "titanic", "Titanic passengers (book ch. 3 exercise)", "Survived", "binary",
            "891 (418 unlabelled with subset='test')", "book",
            (RemoteFile("titanic/train.csv",
                        "14769fb1850e2d26d8e6db0ee49c213878040432827e39b13caaa15603c6598f",
                        "titanic.tgz", member="titanic/train.csv"),
             RemoteFile("titanic/test.csv",
                        "d88facfbcf53fe855b1c15290521aee9c61b3a6283631fa953983a95bacf1399",
                        "titanic.tgz", member="titanic/test.csv")),
            _titanic),
        DatasetInfo(
            "fashion_mnist", "Fashion-MNIST 28x28 images, 10 classes (book ch. 10)", "label",
            "multiclass", "60,000 (10,000 with subset='test')", "book",
            tuple(RemoteFile(f"fashion-mnist/{n}", sha, n, base=FASHION_MNIST_URL)
                  for n, sha in _FASHION_FILES.items()),
            _fashion_mnist),
        DatasetInfo("iris", "Iris flowers (scikit-learn)", "species", "multiclass", "150",
                    "sklearn", loader=_sklearn("iris")),
        DatasetInfo("digits", "8x8 handwritten digits (scikit-learn)", "digit", "multiclass",
                    "1,797", "sklearn", loader=_sklearn("digits")),
        DatasetInfo("wine", "Wine cultivars (scikit-learn)", "cultivar", "multiclass", "178",
                    "sklearn", loader=_sklearn("wine")),
        DatasetInfo("breast_cancer", "Breast cancer diagnosis (scikit-learn)", "diagnosis",
                    "binary", "569", "sklearn", loader=_sklearn("breast_cancer")),
        DatasetInfo("diabetes", "Diabetes progression (scikit-learn)", "progression",
                    "regression", "442", "sklearn", loader=_sklearn("diabetes")),
        DatasetInfo("moons", "Two interleaving half circles (scikit-learn generator, book ch. 5-7)",
                    "label", "binary", "500", "sklearn", loader=_sklearn("moons")),
    ]
}


def list_datasets() -> list[DatasetInfo]:
    return list(DATASETS.values())


def dataset_info(name: str) -> DatasetInfo:
    key = name.replace("-", "_").lower()
    if key not in DATASETS:
        raise DatasetNotFoundError(f"unknown dataset {name!r}",
                                   f"choose one of: {', '.join(DATASETS)} (see `mlpilot datasets`)")
    return DATASETS[key]


def load_dataset(name: str, subset: str | None = None, **kwargs: object) -> pd.DataFrame:
    """Load a catalog dataset as a DataFrame (its target column included)."""
    info = dataset_info(name)
    assert info.loader is not None
    return info.loader(subset, **kwargs) if subset else info.loader(**kwargs)


def _remote_file(relative: str) -> RemoteFile:
    for info in DATASETS.values():
        for rf in info.files:
            if rf.path == relative:
                return rf
    raise DatasetNotFoundError(f"no catalog file {relative!r}")


def fetch_file(relative: str, *, download: bool = True) -> Path:
    """Path of a data-home file: found locally, in a system directory, or downloaded."""
    rf = _remote_file(relative)
    home = settings.data_home()
    local = home / rf.path
    if local.exists():
        return local
    for system_dir in settings.SYSTEM_DATA_DIRS:
        candidate = system_dir / rf.path
        if candidate.exists() and sha256_file(candidate) == rf.sha256:
            return candidate
    if not download:
        raise DatasetNotFoundError(f"{rf.path} is not in the data home {home}",
                                   f"set {settings.DATA_HOME_ENV} or allow the download")
    _download(rf, home)
    return local


def _download(rf: RemoteFile, home: Path) -> None:
    base = settings.data_mirror() or rf.base
    url = base.rstrip("/") + "/" + rf.url
    with tempfile.TemporaryDirectory(prefix="mlpilot-dl-") as tmpdir:
        fetched = Path(tmpdir) / Path(rf.url).name
        _fetch_url(url, fetched)
        if rf.member:
            with tarfile.open(fetched) as archive:
                members = {m.name.lstrip("./"): m for m in archive.getmembers() if m.isfile()}
                for other in _siblings(rf):
                    if other.member in members:
                        _install(archive.extractfile(members[other.member]), other, home, url)
                if rf.member not in members:
                    raise DatasetNotFoundError(f"{url} does not contain {rf.member}")
        else:
            with open(fetched, "rb") as fh:
                _install(fh, rf, home, url)


def _siblings(rf: RemoteFile) -> list[RemoteFile]:
    """Files extracted from the same archive (titanic.tgz holds train and test)."""
    return [f for info in DATASETS.values() for f in info.files
            if f.url == rf.url and f.base == rf.base]


def _install(source, rf: RemoteFile, home: Path, url: str) -> None:  # type: ignore[no-untyped-def]
    dest = home / rf.path
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as out:
            shutil.copyfileobj(source, out)
        actual = sha256_file(tmp)
        if actual != rf.sha256:
            raise ChecksumError(
                f"checksum mismatch for {rf.path} from {url}: got {actual[:12]}…, "
                f"expected {rf.sha256[:12]}…",
                "the download is corrupt or the source changed; nothing was saved — try again",
            )


def _fetch_url(url: str, dest: Path) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with Progress(TextColumn("[bold]download[/] {task.description}"), BarColumn(),
                          DownloadColumn(), TransferSpeedColumn(), transient=True) as progress:
                task = progress.add_task(Path(url).name, total=total)
                with open(dest, "wb") as out:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        out.write(block)
                        progress.advance(task, len(block))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetNotFoundError(
            f"cannot download {url}: {reason}",
            f"connect to the internet, or put the file in {settings.DATA_HOME_ENV} "
            "(see the data home layout in the README)",
        ) from None
