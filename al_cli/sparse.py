"""``issparse`` without importing SciPy: a matrix can only be a SciPy sparse matrix once
``scipy.sparse`` has been imported, so a command on dense features never pays for it."""

from __future__ import annotations

import sys


def issparse(x) -> bool:
    mod = sys.modules.get("scipy.sparse")
    return mod is not None and bool(mod.issparse(x))
