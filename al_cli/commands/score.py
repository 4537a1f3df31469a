"""``al score``: every unlabeled row scored by the latest model, into scores.csv."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from al_cli.commands.scoring import (
    SCORES_BINARY,
    SCORES_MANIFEST,
    PoolScorer,
    quantise,
    read_binary,
    state_key,
    written_columns,
)
from al_cli.commands import scores_csv
from al_cli.commands.scores_csv import Columns
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ProjectError
from al_cli.report import info
from al_cli.store import Project, atomic_write_json, now_iso, sha256_file
from al_cli.store.atomic import atomic_target
from al_cli.strategies.registry import UNCERTAINTY_COLUMNS

SCORES_FORMAT = 1


@dataclass
class ScoreResult:
    model_version: int
    n_scored: int
    path: str
    features_cached: bool
    predicted_counts: dict[str, int]
    mean_entropy: float
    extra_scores: list[str] = field(default_factory=list)
    n_new: int = 0                # rows scored by this call (all of them unless incremental)
    incremental: bool = False     # only rows appended to the pool were scored; the rest kept


def _frame(snap: Snapshot, rows: np.ndarray, extra: list[str], cluster: str | None = None) -> Columns:
    version = snap.require_model()
    names = [*UNCERTAINTY_COLUMNS, *extra]
    if cluster is not None and len(rows):
        _, bundle, _ = snap.model
        from al_cli.commands import distributed as dist

        if all(dist.runs_on_cluster(n) for n in names):
            from al_cli.commands.modeling import model_matrix

            with dist.Cluster(snap, bundle, model_matrix(snap, bundle), cluster,
                              snap.cfg.compute.partition_rows) as c:
                c.score(rows, names, with_proba=True)
                proba, scores = c.gathered(names)
            return _assemble(snap, rows, proba, scores, names, version)
        info(f"{', '.join(n for n in names if not dist.runs_on_cluster(n))} needs more than the "
             "probabilities: scoring here, not on the cluster")
    scorer = PoolScorer(snap, rows)
    scores = {n: scorer.score(n) for n in names}
    return _assemble(snap, rows, scorer.proba, scores, names, version, scorer.classes)


def _assemble(snap: Snapshot, rows, proba, scores: dict, names: list[str], version, classes=None) -> Columns:
    """scores.csv's columns: id, predicted, confidence, the scores, p_<class>, model_version."""
    import pyarrow as pa

    classes = list(snap.model[1]["classes"] if classes is None else classes)
    top = proba.argmax(axis=1) if len(rows) else np.zeros(0, dtype=np.int64)
    ids = snap.arrow_ids
    if len(rows) != len(ids):
        ids = ids.take(pa.array(np.asarray(rows, dtype=np.int64)))
    numbers = {"confidence": quantise(proba[np.arange(len(rows)), top]), **{n: scores[n] for n in names},
               **{f"p_{c}": quantise(proba[:, j]) for j, c in enumerate(classes)}}
    return Columns(["id", "predicted", *numbers, "model_version"],
                   [("text", ids), ("codes", classes, top), *numbers.values(),
                    np.full(len(rows), int(version), dtype=np.int64)])


def _kept_rows(proj: Project, man: dict | None, base: str, columns: list[str], n_rows: int) -> int | None:
    """How many pool rows the current scores.csv covers when it can be kept and only the rows
    appended since scored: same model, labels, settings and excluded rows, fewer pool rows,
    and the file exactly as written (size and SHA-256)."""
    if not isinstance(man, dict) or man.get("base") != base or man.get("columns") != columns:
        return None
    old_n, ident = man.get("n_rows"), man.get("file")
    if not isinstance(old_n, int) or not 0 < old_n < n_rows or not isinstance(ident, dict):
        return None
    try:
        if proj.scores_path.stat().st_size != ident.get("size") or sha256_file(proj.scores_path) != ident.get("sha256"):
            return None
    except OSError:
        return None
    return old_n


def write_csv(out, fh, header: bool) -> None:
    """scores.csv's rows (a :class:`Columns`, or a DataFrame of text and number columns) into
    ``fh`` (binary); see :mod:`al_cli.commands.scores_csv`."""
    if isinstance(out, pd.DataFrame):
        import pyarrow as pa

        fields = [("text", pa.array(out[c].astype(str).tolist(), type=pa.string()))
                  if not pd.api.types.is_numeric_dtype(out[c]) else out[c].to_numpy() for c in out.columns]
        out = Columns([str(c) for c in out.columns], fields)
    if header:
        fh.write(scores_csv.header(out.names))
    scores_csv.write_rows(out, fh)


class _Hashing:
    """A binary file that keeps the SHA-256 and size of what was written to it (scores.csv
    is not read back to hash it)."""

    def __init__(self, raw):
        import hashlib

        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.raw.write(data)


def _write_binary(proj: Project, out: Columns, rows: np.ndarray, columns: list[str],
                  append: bool) -> dict | None:
    """cache/scores.npz: the pool position of each row of scores.csv and its score columns,
    for 'al query' to load in milliseconds instead of parsing the CSV. Appended to when
    scores.csv was; None (and no file) when it cannot be written."""
    path = proj.cache_dir / SCORES_BINARY
    arrays = {"rows": np.asarray(rows, dtype=np.int64),
              **{f"s_{c}": np.asarray(out.column(c), dtype=np.float64) for c in columns}}
    if append:
        old = read_binary(proj, None)
        if old is None:
            path.unlink(missing_ok=True)
            return None
        arrays = {k: np.concatenate([old[k], v]) for k, v in arrays.items()}
    try:
        with atomic_target(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
            sha = sha256_file(tmp)
        st = path.stat()  # 'al query' skips the SHA-256 while the file is this very one
        return {"file": SCORES_BINARY, "sha256": sha, "n": int(len(arrays["rows"])),
                "written": [st.st_size, st.st_mtime_ns, st.st_ino]}
    except OSError:
        return None


def score(proj: Project, scheduler: str | None = None) -> ScoreResult:
    """Scores the pool into scores.csv; on a dask.distributed cluster with ``scheduler``
    (or compute.backend: dask)."""
    from al_cli.commands.distributed import address

    snap = Snapshot(proj)
    cluster = address(snap.cfg, scheduler)
    version = snap.require_model()
    available = snap.available
    if not available.any():
        raise ProjectError("every pool row is labeled: nothing left to score")
    extra = written_columns(snap)
    columns = [*UNCERTAINTY_COLUMNS, *extra]
    key, base = state_key(snap), state_key(snap, rows=False)
    man_path = proj.cache_dir / SCORES_MANIFEST
    man = proj.read_json(man_path, default=None) if man_path.exists() else None
    kept = _kept_rows(proj, man, base, columns, snap.n_rows)
    rows = np.flatnonzero(available) if kept is None else kept + np.flatnonzero(available[kept:])
    out = _frame(snap, rows, extra, cluster)
    from al_cli.report import busy

    with proj.lock(), busy(f"writing {proj.scores_path.name}", len(out) >= 100_000):
        if kept is not None:  # another 'al score' may have written since: then everything again
            man = proj.read_json(man_path, default=None) if man_path.exists() else None
            if _kept_rows(proj, man, base, columns, snap.n_rows) != kept:
                kept, rows = None, np.flatnonzero(available)
                out = _frame(snap, rows, extra, cluster)
        from concurrent.futures import ThreadPoolExecutor

        # cache/scores.npz is written beside scores.csv, on another core (both mostly wait
        # on numpy and the disk, which let go of the GIL); the manifest after both
        with ThreadPoolExecutor(1) as ex:
            pending = ex.submit(_write_binary, proj, out, rows, columns, kept is not None)
            if kept is None:
                with atomic_target(proj.scores_path) as tmp:
                    with open(tmp, "wb") as raw:
                        fh = _Hashing(raw)
                        write_csv(out, fh, header=True)
                n_total = len(out)
            else:  # the rows already there, byte for byte, then the new ones
                with atomic_target(proj.scores_path) as tmp:
                    with open(proj.scores_path, "rb") as src, open(tmp, "wb") as raw:
                        fh = _Hashing(raw)
                        shutil.copyfileobj(src, fh, 1 << 20)
                        write_csv(out, fh, header=False)
                n_total = int(man.get("n_scored", 0)) + len(out)
            binary = pending.result()
        atomic_write_json(man_path, {
            "format": SCORES_FORMAT, "key": key, "model_version": version, "columns": columns,
            "created": now_iso(), "base": base, "n_rows": snap.n_rows, "n_scored": n_total,
            "file": {"size": fh.size, "sha256": fh.sha.hexdigest()},
            "binary": binary})
    _, classes, top = out.column("predicted")
    counts = np.bincount(top, minlength=len(classes))
    pred = {str(classes[j]): int(counts[j]) for j in np.argsort(-counts, kind="stable") if counts[j]}
    return ScoreResult(version, n_total, str(proj.scores_path), snap.features.cached, pred,
                       float(np.mean(out.column("entropy"))) if len(out) else float("nan"), extra, len(out),
                       kept is not None)
