"""The loop for Python scripts: every command as a function of an open project.

    from al_cli import api
    from al_cli.store import Project

    proj = Project.open("moderation")
    api.seed(proj, size=40)
    api.label_import(proj, "answers.csv")
    print(api.retrain(proj).model_version)

Each function is the one the CLI calls (``al_cli.commands``); it returns a dataclass
(:func:`as_dict` turns it into the command's ``--json`` object) and raises
:class:`al_cli.errors.AlError` for a mistake the user can fix. Names are imported on
first use.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict
from typing import Any

_EXPORTS = {
    "init": "init", "InitResult": "init",
    "seed": "seed",
    "label_import": "labels_io", "label_export": "labels_io", "ImportResult": "labels_io",
    "ExportResult": "labels_io",
    "retrain": "retrain", "RetrainResult": "retrain",
    "evaluate": "evaluate", "EvalResult": "evaluate",
    "score": "score", "ScoreResult": "score",
    "query": "query", "BatchResult": "batch",
    "status": "status", "cached_status": "status", "StatusResult": "status",
    "export": "export", "ExportSetResult": "export",
    "predict": "predict", "PredictResult": "predict",
    "explain": "explain", "ExplainResult": "explain",
    "report": "report", "ReportResult": "report",
    "agreement": "agreement", "AgreementResult": "agreement",
    "suspects": "suspects", "SuspectsResult": "suspects",
    "Snapshot": "snapshot",
}
__all__ = sorted([*_EXPORTS, "as_dict", "effective_labels"])


def as_dict(result: Any) -> dict[str, Any]:
    return asdict(result)


def effective_labels(proj) -> Any:
    """The current label of each labeled id (columns id, label, annotator)."""
    from al_cli.commands.snapshot import Snapshot

    return Snapshot(proj).labels


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"al_cli.commands.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'al_cli.api' has no attribute {name!r}")
