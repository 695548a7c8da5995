"""What software a node runs: the aidchain release and the Python interpreter, for node_status.

Operators of a consortium compare these across the agencies' nodes during an upgrade, and
``aidchain bench`` prints the interpreter beside its figures, because the interpreter's build
moves a node's CPU per transaction as much as many code changes do (docs/operations.md,
"Which Python build").
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata


def _release() -> str:
    try:
        return metadata.version("aidchain")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "not installed"


def _interpreter() -> str:
    """e.g. ``CPython 3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]``: version and build."""
    return f"{platform.python_implementation()} {' '.join(sys.version.split())}"


SOFTWARE: dict[str, str] = {"aidchain": _release(), "python": _interpreter()}
