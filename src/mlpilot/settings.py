"""Process-wide settings read from the environment, defined once."""

from __future__ import annotations

import os
from pathlib import Path

DATA_HOME_ENV = "MLPILOT_DATA_HOME"
#: Overrides the public download base URLs (a mirror, or a local server in tests).
DATA_MIRROR_ENV = "MLPILOT_DATA_MIRROR"
#: Directories searched (read-only) before downloading; Debian ships Fashion-MNIST here.
SYSTEM_DATA_DIRS = (Path("/usr/share/datasets"),)


def data_home() -> Path:
    """Where datasets live: ``$MLPILOT_DATA_HOME``, else the user cache directory."""
    configured = os.environ.get(DATA_HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mlpilot" / "datasets"


def data_mirror() -> str | None:
    return os.environ.get(DATA_MIRROR_ENV) or None
