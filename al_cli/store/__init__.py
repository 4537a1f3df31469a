"""The project folder: paths, lock, atomic writes, the label log, queue, models,
history, format versions and migrations. Commands and the labeling session both use
it; it imports nothing above it (no features, models, strategies or commands)."""

from al_cli.store.atomic import (
    atomic_joblib_dump,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    now_iso,
    sha256_file,
)
from al_cli.store.labellog import LABEL_COLUMNS, STATUSES, LabelLog, effective_labels
from al_cli.store.project import HISTORY_COLUMNS, QUEUE_BASE_COLUMNS, Project, find_root

__all__ = [
    "HISTORY_COLUMNS", "LABEL_COLUMNS", "LabelLog", "Project", "QUEUE_BASE_COLUMNS", "STATUSES",
    "atomic_joblib_dump", "atomic_write_bytes", "atomic_write_csv", "atomic_write_json",
    "atomic_write_text", "effective_labels", "find_root", "now_iso", "sha256_file",
]
