"""Features: the extractor registry (:mod:`.registry`), the pool's transform
(:mod:`.transform`) and its cache (:mod:`.cache`), imported on first use."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ExtractorSpec": "registry", "EXTRACTORS": "registry",
    "PoolFeatures": "transform", "fit_transform": "transform", "transform": "transform",
    "feature_config_key": "transform", "pool_file_key": "transform", "split_columns": "transform",
    "build_transformer": "transform",
    "TextJoiner": "builtin",  # also where models pickled by al 0.1.0 look for it
    "load_features": "cache",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"al_cli.features.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'al_cli.features' has no attribute {name!r}")
