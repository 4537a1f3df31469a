"""The project folder: its paths, config, lock, and the small artifacts (queue, history,
audit sample, pool state). This package is the only writer of the folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from al_cli.errors import ProjectError
from al_cli.store import labellog
from al_cli.store.atomic import atomic_write_csv, atomic_write_json, atomic_write_text, now_iso
from al_cli.store.lock import project_lock
from al_cli.store.modelstore import ModelStore

CONFIG_NAME = "al.yaml"
QUEUE_BASE_COLUMNS = ["id", "purpose", "round", "strategy"]
#: queried.csv: each row queued by al query, with the model's prediction at that moment
QUERIED_COLUMNS = ["id", "round", "purpose", "model_version", "predicted", "confidence", "drivers", "time"]
HISTORY_COLUMNS = [
    "time", "event", "model_version", "round", "n_labeled", "source", "n_eval",
    "accuracy", "macro_f1", "eval_set", "stop_reason", "stability_kappa",
]
POOL_STATE_FORMAT = 1

#: project folders written to in this process since :func:`take_written` was last called
_WRITTEN: dict[str, Path] = {}


def take_written() -> list[Path]:
    """The folders written to (a lock taken, al.yaml written) since the last call."""
    roots = list(_WRITTEN.values())
    _WRITTEN.clear()
    return roots


def find_root(start: Path | str | None) -> Path:
    """The project folder: ``start`` or the first parent holding al.yaml (like git)."""
    start = Path(start) if start is not None else Path.cwd()
    if not start.exists():
        raise ProjectError(f"{start}: no such folder")
    start = start.resolve()
    for cand in [start, *start.parents]:
        if (cand / CONFIG_NAME).is_file():
            return cand
    raise ProjectError(
        f"{start}: not an al project (no {CONFIG_NAME} here or above); run 'al init DIR --data FILE'"
    )


class Project:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._config = None
        self.models = ModelStore(self.root / "models")

    @classmethod
    def open(cls, start: Path | str | None = None, *, migrate: bool = True) -> "Project":
        from al_cli.store import formats

        proj = cls(find_root(start))
        proj.config  # validate now
        if migrate:
            formats.ensure_current(proj.root, proj.lock)
        return proj

    # paths -----------------------------------------------------------------
    config_path = property(lambda self: self.root / CONFIG_NAME)
    labels_path = property(lambda self: self.root / "labels.csv")
    queue_path = property(lambda self: self.root / "queue.csv")
    scores_path = property(lambda self: self.root / "scores.csv")
    history_path = property(lambda self: self.root / "history.csv")
    audit_path = property(lambda self: self.root / "audit.csv")
    recall_sample_path = property(lambda self: self.root / "recall_sample.csv")
    claims_path = property(lambda self: self.root / "claims.csv")
    queried_path = property(lambda self: self.root / "queried.csv")
    state_path = property(lambda self: self.root / "pool.json")
    models_dir = property(lambda self: self.root / "models")
    cache_dir = property(lambda self: self.root / "cache")

    @property
    def config(self):
        if self._config is None:
            from al_cli import config as config_mod

            self._config = config_mod.load(self.config_path)
        return self._config

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else Path(os.path.normpath(self.root / p))

    @property
    def pool_path(self) -> Path:
        return self.resolve(self.config.data.path)

    def write_config(self, cfg) -> None:
        from al_cli import config as config_mod

        atomic_write_text(self.config_path, config_mod.dump(cfg))
        self._config = cfg
        _WRITTEN[str(self.root)] = self.root.resolve()

    def lock(self, timeout: float | None = None):
        """The project lock; every writer of the folder holds it while it writes."""
        if len(_WRITTEN) < 64:  # a script that opens many projects: the first ones are memoised
            _WRITTEN[str(self.root)] = self.root.resolve()
        return project_lock(self.root, timeout)

    # label log -------------------------------------------------------------
    def append_labels(self, rows: Iterable[dict[str, Any]]) -> int:
        """Append rows to labels.csv under the lock; flushed and fsynced on return."""
        rows = list(rows)
        if not rows:
            return 0
        with self.lock():
            return labellog.append(self.labels_path, rows)

    def append_encoded(self, data: bytes, count: int) -> int:
        """Append ``count`` records already encoded (labellog.encode_frame), under the lock."""
        if not count:
            return 0
        with self.lock():
            return labellog.append(self.labels_path, [], data, count)

    def read_label_log(self) -> labellog.LabelLog:
        return labellog.read(self.labels_path)

    # small files -----------------------------------------------------------
    def read_json(self, path: Path, default: Any = None) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default
        except (OSError, ValueError) as exc:
            raise ProjectError(f"{path}: unreadable ({exc}); it is derived state, delete it to rebuild") from None

    def read_csv(self, path: Path):
        import pandas as pd

        if not path.exists():
            return None
        try:
            return pd.read_csv(path, dtype={"id": str}, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{path}: unreadable ({exc})") from None

    # queue -----------------------------------------------------------------
    def read_queue(self):
        import pandas as pd

        q = self.read_csv(self.queue_path)
        if q is None or "id" not in q.columns:
            return pd.DataFrame(columns=QUEUE_BASE_COLUMNS)
        q["id"] = q["id"].astype(str)
        return q

    def write_queue(self, frame) -> None:
        """Replace queue.csv; the caller holds the lock."""
        atomic_write_csv(self.queue_path, frame)

    # what the model predicted for each queued row ---------------------------
    def read_queried(self):
        import pandas as pd

        q = self.read_csv(self.queried_path)
        if q is None or "id" not in q.columns:
            return pd.DataFrame(columns=QUERIED_COLUMNS)
        for c in QUERIED_COLUMNS:
            if c not in q.columns:
                q[c] = None
        q["id"] = q["id"].astype(str)
        return q

    def append_queried(self, frame) -> None:
        """Add rows to queried.csv (a whole-file atomic rewrite); the caller holds the lock."""
        import pandas as pd

        old = self.read_queried()
        new = frame.reindex(columns=QUERIED_COLUMNS)
        both = new if old.empty else pd.concat([old[QUERIED_COLUMNS], new], ignore_index=True)
        atomic_write_csv(self.queried_path, both)

    # audit sample ----------------------------------------------------------
    def audit_frame(self):
        df = self.read_csv(self.audit_path)
        return None if df is None or "id" not in df else df

    def audit_ids(self) -> list[str]:
        """Ids of the audit sample, in the order they were drawn."""
        df = self.audit_frame()
        return [] if df is None else df["id"].astype(str).tolist()

    def add_audit(self, ids: list[str]) -> None:
        import pandas as pd

        prev = self.audit_frame()
        new = pd.DataFrame({"id": ids, "added": now_iso()})
        audit = new if prev is None else pd.concat([prev, new], ignore_index=True)
        atomic_write_csv(self.audit_path, audit.drop_duplicates("id"))

    def write_recall_sample(self, frame) -> None:
        """Replace recall_sample.csv (see al_cli.commands.recall_sample); the caller holds the lock."""
        atomic_write_csv(self.recall_sample_path, frame)

    # history ---------------------------------------------------------------
    def read_history(self):
        import numpy as np
        import pandas as pd

        h = self.read_csv(self.history_path)
        if h is None:
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        for c in HISTORY_COLUMNS:
            if c not in h.columns:
                h[c] = np.nan
        return h

    def append_history(self, row: dict[str, Any]) -> None:
        import pandas as pd

        with self.lock():
            hist = self.read_history()
            row = {"time": now_iso(), **row}
            new = pd.DataFrame([{c: row.get(c, "") for c in HISTORY_COLUMNS}])
            hist = new if hist.empty else pd.concat([hist, new], ignore_index=True)
            for c in ("model_version", "round", "n_labeled", "n_eval"):  # 69, not 69.0
                hist[c] = pd.to_numeric(hist[c], errors="coerce").round().astype("Int64")
            atomic_write_csv(self.history_path, hist[HISTORY_COLUMNS])

    # pool state ------------------------------------------------------------
    def read_pool_state(self) -> dict[str, Any] | None:
        state = self.read_json(self.state_path, default=None)
        return state if isinstance(state, dict) and "n_rows" in state else None

    def write_pool_state(self, n_rows: int, digest: str, digest_rows: int | None = None,
                         numeric: list[str] | None = None) -> None:
        """``digest`` covers the first ``digest_rows`` rows (all ``n_rows`` by default: rows
        appended and featurised on their own were verified by the bytes, not digested);
        ``numeric``: the feature columns read as numbers (they must stay numbers)."""
        state: dict[str, Any] = {"format": POOL_STATE_FORMAT, "n_rows": int(n_rows), "digest": digest}
        if digest_rows is not None and int(digest_rows) != int(n_rows):
            state["digest_rows"] = int(digest_rows)
        if numeric is not None:
            state["numeric"] = [str(c) for c in numeric]
        atomic_write_json(self.state_path, state)

    # models ----------------------------------------------------------------
    def latest_model_version(self) -> int | None:
        return self.models.latest()

    def model_paths(self, version: int) -> tuple[Path, Path]:
        return self.models.paths(version)

    def load_manifest(self, version: int) -> dict[str, Any]:
        return self.models.manifest(version, self.read_json)

    def load_model(self, version: int, trusted: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The bundle of ``version`` (from its skops twin, with ``trusted`` types) and its
        manifest."""
        return self.models.load(version, self.read_json, trusted)

    def save_model(self, bundle: dict[str, Any], manifest: dict[str, Any], head: bytes | None = None) -> int:
        with self.lock():
            return self.models.save(bundle, manifest, head)

    def load_head(self, version: int) -> bytes | None:
        """The verified bytes of ``version``'s head (a linear model in numpy), or None."""
        return self.models.head(version, self.read_json)
