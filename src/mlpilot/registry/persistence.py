"""Saving and loading model artifacts safely: skops by default, pickle only when asked.

A pickle runs arbitrary code when it is loaded, so mlpilot writes models with skops, which
rebuilds objects from a declarative description and refuses any type it is not told to
trust. The list of trusted types is taken when mlpilot itself writes the file and kept in
the registry; at load time only that list is trusted. Asking the file which types it holds
and trusting the answer would let a crafted artifact widen its own trust (skops advisory
GHSA-w582-9x45-8mpx). Every artifact's SHA-256 is checked before it is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from mlpilot.atomic import sha256_file, write_with
from mlpilot.errors import ArtifactIntegrityError, ModelNotFoundError, UnsafeArtifactError

SKOPS = "skops"
JOBLIB = "joblib"
SUFFIX = {SKOPS: ".skops", JOBLIB: ".joblib"}


def _skops() -> Any:
    """skops.io, imported when a model is saved or loaded: importing it loads every
    scikit-learn estimator (and torch, through array-api-compat), 1.5 s of ``import mlpilot``
    that a command which never touches a model should not pay."""
    import skops.io

    return skops.io


@dataclass(frozen=True)
class SavedArtifact:
    path: Path
    sha256: str
    format: str
    trusted_types: tuple[str, ...]


def save_artifact(model: Any, path: Path) -> SavedArtifact:
    """Write ``model`` with skops (temp file + rename) and record the types it contains."""
    path = path.with_suffix(SUFFIX[SKOPS])
    types: list[str] = []

    def dump(tmp: Path) -> None:
        _skops().dump(model, tmp)
        # Read back from the bytes we just wrote ourselves: this is the moment trust is given.
        types.extend(_skops().get_untrusted_types(file=tmp))

    write_with(path, dump)
    return SavedArtifact(path, sha256_file(path), SKOPS, tuple(sorted(types)))


def load_artifact(path: Path, *, sha256: str, format: str,
                  trusted_types: tuple[str, ...] | list[str], unsafe: bool = False) -> Any:
    """Open an artifact after checking its checksum; trust only the registry's type list."""
    if not path.exists():
        raise ModelNotFoundError(f"model file missing: {path}", "re-run `mlpilot train`")
    if sha256_file(path) != sha256:
        raise ArtifactIntegrityError(f"{path} does not match the checksum recorded when it was "
                                     "saved", "it was modified: re-run `mlpilot train`")
    if format == SKOPS:
        sio = _skops()
        try:
            return sio.load(path, trusted=list(trusted_types))
        except sio.exceptions.UntrustedTypesFoundException as exc:
            raise UnsafeArtifactError(
                f"{path} holds types the registry does not trust: {exc}",
                "the file was not written by this registry; re-train the model") from None
    if format == JOBLIB:
        if not unsafe:
            raise UnsafeArtifactError(
                f"{path} is a pickle (joblib) file, which can run any code when loaded",
                "load it only if you made it yourself, with --unsafe")
        return joblib.load(path)
    raise UnsafeArtifactError(f"unknown artifact format {format!r} for {path}",
                              "formats are skops and joblib")


def untrusted_types(path: Path) -> list[str]:
    """The non-default types a skops file declares (to show a user before they trust it)."""
    return list(_skops().get_untrusted_types(file=path))
