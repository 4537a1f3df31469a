"""What ``al seed`` and ``al query`` return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BatchResult:
    ids: list[str]
    path: str
    strategy: str
    n_audit: int = 0
    features_cached: bool = False
    explain: list[dict[str, Any]] = field(default_factory=list)
    replaced: int = 0
