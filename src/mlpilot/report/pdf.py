"""HTML → PDF with a headless Chromium/Chrome when one is installed (nothing to pip install).

Why a browser: the report is already a self-contained HTML page; a browser prints it exactly
as a person sees it, figures included, where HTML-to-PDF libraries re-implement CSS badly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mlpilot.atomic import write_bytes

#: Executables tried in order; ``MLPILOT_BROWSER`` names another.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_ENV = "MLPILOT_BROWSER"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--no-pdf-header-footer")
TIMEOUT_S = 120


def find_browser() -> str | None:
    """A headless-capable browser on this machine, or None."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        return shutil.which(named) or (named if Path(named).exists() else None)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: Path, pdf: Path, browser: str | None = None) -> Path | None:
    """Print ``html`` to ``pdf`` (atomically); None when no browser is found or it fails."""
    browser = browser or find_browser()
    if browser is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mlpilot-pdf-") as tmp:
        out = Path(tmp) / "report.pdf"
        try:
            subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp}/profile",
                            f"--print-to-pdf={out}", html.resolve().as_uri()],
                           check=True, capture_output=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.SubprocessError):
            return None
        if not out.exists() or out.stat().st_size == 0:
            return None
        write_bytes(pdf, out.read_bytes())
    return pdf
