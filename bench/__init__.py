"""Benchmarks that print figures (``make bench`` runs them all; ``python -m bench.<name>`` runs one).

They measure; they do not assert timings. What DESIGN.md's performance budget states is
printed beside each figure, with an "over budget" note where a figure exceeds it.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_PYTHON = REPO_ROOT / "layers" / "common" / "python"

# The common layer (``market``) and the repository root (``localdev``, ``tests``) are importable.
for _path in (str(LAYER_PYTHON), str(REPO_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
