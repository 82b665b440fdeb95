"""Where a browser test's screenshots go.

A test run never changes tracked files: screenshots land in ``test-artifacts/screenshots/``.
The documentation's pictures are made on purpose, by a run with
``MADOGUCHI_DOC_SCREENSHOTS=1``, which writes them to ``docs/images/`` instead.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def screenshot_folder() -> Path:
    """``docs/images`` when documentation pictures are wanted, else ``test-artifacts``."""
    if os.environ.get("MADOGUCHI_DOC_SCREENSHOTS") == "1":
        folder = REPO / "docs" / "images"
    else:
        folder = REPO / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
