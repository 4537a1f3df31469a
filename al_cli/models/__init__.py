"""Models: the registry (:mod:`.registry`, no scikit-learn import) and fitting /
prediction (:mod:`.fitting`), imported on first use."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"ModelSpec": "registry", "MODELS": "registry",
            "make_estimator": "fitting", "prepare_X": "fitting", "fit": "fitting",
            "predict_proba": "fitting", "factory": "fitting", "EncodedLabels": "builtin"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"al_cli.models.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'al_cli.models' has no attribute {name!r}")
