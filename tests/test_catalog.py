"""The dataset catalog: names, the data home, and checksummed downloads."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlpilot
from mlpilot.data import catalog
from mlpilot.errors import ChecksumError, DatasetNotFoundError


@pytest.mark.parametrize(("name", "rows", "target"), [
    ("iris", 150, "species"), ("digits", 1797, "digit"), ("wine", 178, "cultivar"),
    ("breast_cancer", 569, "diagnosis"), ("diabetes", 442, "progression"), ("moons", 500, "label"),
])
def test_bundled_datasets_load_offline(name: str, rows: int, target: str) -> None:
    frame = mlpilot.load_dataset(name)
    assert len(frame) == rows and target in frame.columns
    assert catalog.dataset_info(name).target == target


def test_book_datasets_from_the_data_home(data_home: Path) -> None:
    housing = mlpilot.load_dataset("housing")
    assert housing.shape == (20_640, 10)
    assert housing["total_bedrooms"].isna().sum() == 207
    assert len(mlpilot.load_dataset("lifesat")) == 27
    assert len(mlpilot.load_dataset("lifesat", subset="full")) == 36
    titanic = mlpilot.load_dataset("titanic")
    assert len(titanic) == 891 and "Survived" in titanic
    assert "Survived" not in mlpilot.load_dataset("titanic", subset="test")


def test_fashion_mnist_from_idx_files(data_home: Path) -> None:
    test = mlpilot.load_dataset("fashion_mnist", subset="test")
    assert test.shape == (10_000, 785)
    assert test["label"].nunique() == 10 and test.drop(columns="label").to_numpy().max() == 255


def test_unknown_dataset_lists_the_names() -> None:
    with pytest.raises(DatasetNotFoundError, match="unknown dataset") as info:
        mlpilot.load_dataset("housingg")
    assert "housing" in (info.value.hint or "")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server standing in for the public sources."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _tgz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_missing_file_is_downloaded_checked_and_placed(
        tmp_path: Path, mirror: tuple[str, Path], data_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, root = mirror
    _tgz(root / "titanic.tgz", {
        "titanic/train.csv": (data_home / "titanic" / "train.csv").read_bytes(),
        "titanic/test.csv": (data_home / "titanic" / "test.csv").read_bytes(),
    })
    home = tmp_path / "home"
    monkeypatch.setenv("MLPILOT_DATA_HOME", str(home))
    monkeypatch.setenv("MLPILOT_DATA_MIRROR", url)
    monkeypatch.setattr("mlpilot.settings.SYSTEM_DATA_DIRS", ())
    frame = mlpilot.load_dataset("titanic")
    assert len(frame) == 891
    assert (home / "titanic" / "test.csv").exists()  # the archive's sibling is kept too


def test_corrupt_download_is_refused_and_not_kept(
        tmp_path: Path, mirror: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, root = mirror
    (root / "lifesat").mkdir()
    (root / "lifesat" / "lifesat.csv").write_text("Country,GDP,Life\nNowhere,1,2\n")
    home = tmp_path / "home"
    monkeypatch.setenv("MLPILOT_DATA_HOME", str(home))
    monkeypatch.setenv("MLPILOT_DATA_MIRROR", url)
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        mlpilot.load_dataset("lifesat")
    assert not (home / "lifesat" / "lifesat.csv").exists()
    assert not list((home / "lifesat").glob("*"))  # no half-written temporary file either


def test_unreachable_source_says_what_to_do(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPILOT_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLPILOT_DATA_MIRROR", "http://127.0.0.1:9")
    with pytest.raises(DatasetNotFoundError, match="cannot download") as info:
        mlpilot.load_dataset("housing")
    assert "MLPILOT_DATA_HOME" in (info.value.hint or "")


def test_system_directory_is_searched(tmp_path: Path, data_home: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    system = tmp_path / "usr-share-datasets"
    (system / "fashion-mnist").mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (system / "fashion-mnist" / name).write_bytes(
            (data_home / "fashion-mnist" / name).read_bytes())
    monkeypatch.setenv("MLPILOT_DATA_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("MLPILOT_DATA_MIRROR", "http://127.0.0.1:9")
    monkeypatch.setattr("mlpilot.settings.SYSTEM_DATA_DIRS", (system,))
    path = catalog.fetch_file("fashion-mnist/t10k-labels-idx1-ubyte.gz")
    assert path.parent == system / "fashion-mnist"
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("8d3605d1")
