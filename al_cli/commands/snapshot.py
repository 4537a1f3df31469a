"""One command's view of the project: each part is read at most once per command.

A command opens a :class:`Snapshot` and asks it for what it needs (config, pool ids and
features, effective labels, queue, audit sample, validation ids, latest model); each
part is loaded on first use and kept. After appending labels a command updates the
snapshot in memory (:meth:`Snapshot.add_label_rows`) instead of reading the log again.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli import rng as rng_mod
from al_cli.errors import ColumnNotFoundError, ProjectError
from al_cli.report import warn
from al_cli.store import Project
from al_cli.store import labellog


class Snapshot:
    def __init__(self, proj: Project):
        self.proj = proj
        self.cfg = proj.config

    # -- labels ----------------------------------------------------------------
    @cached_property
    def log(self) -> labellog.LabelLog:
        return self.proj.read_label_log()

    @cached_property
    def consensus(self):
        """Current labels and conflicts under labeling.consensus (store/consensus.py)."""
        from al_cli.store.consensus import consensus

        return consensus(self.log.frame, self.cfg.labeling.consensus)

    @cached_property
    def labels(self) -> pd.DataFrame:
        """id -> current label (id, label, annotator), every settled label in the log."""
        return self.consensus.labels

    @cached_property
    def known_labels(self) -> pd.DataFrame:
        """:attr:`labels` without (and reporting) labels not in al.yaml's label set."""
        eff = self.labels
        labels = self.cfg.labels
        unknown = ~eff["label"].isin(labels)
        if unknown.any():
            counts = eff.loc[unknown, "label"].value_counts()
            shown = ", ".join(f"{k!r} x{v}" for k, v in counts.items())
            warn(f"labels.csv: {int(unknown.sum())} label(s) not in the label set of al.yaml "
                 f"({', '.join(labels)}) are left out: {shown}; put the label back in al.yaml, or "
                 "relabel those rows (a new answer for the id replaces the old one)")
        return eff[~unknown]

    @cached_property
    def labeled_ids(self) -> set[str]:
        """Ids answered (settled or in an unresolved conflict): never queried again."""
        return set(self.labels["id"]) | set(self.consensus.answered["id"])

    def add_label_rows(self, rows: list[dict[str, Any]]) -> None:
        """Rows just appended to labels.csv, applied to this snapshot."""
        self._add(labellog.frame_of(rows))

    def add_label_frame(self, frame: pd.DataFrame) -> None:
        """A frame of LABEL_COLUMNS strings just appended to labels.csv, applied."""
        self._add(labellog._typed(frame.copy()))

    def _add(self, new: pd.DataFrame) -> None:
        log = self.log
        frame = new if log.frame.empty else pd.concat([log.frame, new], ignore_index=True)
        self.__dict__["log"] = labellog.LabelLog(frame, log.skipped_lines)
        for name in ("consensus", "labels", "known_labels", "labeled_ids", "training", "available"):
            self.__dict__.pop(name, None)

    # -- queue, audit, validation ----------------------------------------------
    @cached_property
    def queue(self) -> pd.DataFrame:
        return self.proj.read_queue()

    @property
    def pending(self) -> pd.DataFrame:
        """Queued rows still to answer: rows without a current label, and rows queued for
        adjudication (purpose ``adjudicate``) until an adjudication of their id stands."""
        q = self.queue
        adj = self.adjudicate_rows
        done = np.where(adj, q["id"].isin(self.consensus.adjudicated), q["id"].isin(self.labeled_ids))
        return q[~done].reset_index(drop=True)

    @property
    def adjudicate_rows(self) -> np.ndarray:
        """Mask over :attr:`queue` of the rows queued for adjudication."""
        q = self.queue
        return (q["purpose"] == "adjudicate").to_numpy() if "purpose" in q else np.zeros(len(q), bool)

    def overlap_short(self, annotator: str | None = None) -> list[str]:
        """Queued overlap items (``labeling.overlap``) answered, but by fewer annotators than
        ``labeling.overlap_annotators``; with ``annotator``, only those they have not answered."""
        from al_cli.store.consensus import is_overlap

        lab = self.cfg.labeling
        q = self.queue[~self.adjudicate_rows]
        ids = [i for i in dict.fromkeys(q["id"]) if is_overlap(i, float(lab.overlap))]
        if not ids:
            return []
        ans = self.consensus.answered
        ans = ans[ans["id"].isin(set(ids))]
        n = ans.groupby("id")["annotator"].nunique()
        mine = set(ans.loc[ans["annotator"] == annotator, "id"]) if annotator is not None else set()
        return [i for i in ids if 0 < n.get(i, 0) < lab.overlap_annotators and i not in mine]

    @cached_property
    def audit_ids(self) -> list[str]:
        return self.proj.audit_ids()

    @cached_property
    def audit_set(self) -> set[str]:
        return set(self.audit_ids)

    @cached_property
    def recall_sample_ids(self) -> list[str]:
        from al_cli.commands.recall_sample import sample_ids

        return sample_ids(self.proj) if self.cfg.task == "discovery" else []

    def pending_recall_sample(self) -> list[str]:
        """Recall-sample ids not labeled yet, in the order they were drawn."""
        return [i for i in self.recall_sample_ids if i not in self.labeled_ids]

    def pending_audit(self) -> list[str]:
        """Audit ids not labeled yet, in their original order."""
        return [i for i in self.audit_ids if i not in self.labeled_ids]

    @cached_property
    def validation_ids(self) -> set[str]:
        """Pool ids that are also in the validation file: never queried, never trained on.

        A validation file without the id column holds no pool rows; one that cannot be
        read is an error (its rows must not slip into training)."""
        cfg = self.cfg
        if not cfg.validation.path or not cfg.data.id_column:
            return set()
        path = self.proj.resolve(cfg.validation.path)
        try:
            col = data_mod.read_column(path, cfg.data.id_column, "id", as_str=True)
        except ColumnNotFoundError:
            return set()
        return set(data_mod.normalise_ids(col)) - {""}

    # -- pool --------------------------------------------------------------------
    @cached_property
    def features(self):
        from al_cli.features.cache import load_features

        return load_features(self.proj)

    @cached_property
    def _index(self) -> tuple[np.ndarray, str] | None:
        """(ids, key) of the pool from the feature cache when it is current, read without
        the matrix or the transform; None when it is not."""
        if "features" in self.__dict__:
            return self.features.arrow_ids, self.features.key
        from al_cli.features.cache import load_index

        return load_index(self.proj)

    @cached_property
    def _index_ids(self) -> np.ndarray:
        ids = self._index[0].to_numpy(zero_copy_only=False).astype(object, copy=False)
        ids.setflags(write=False)
        return ids

    @property
    def pool_ids(self) -> np.ndarray:
        """The pool ids, in pool order (as the features have them): from the cache without
        loading the matrix when it is current. A numpy array of a million str takes a tenth
        of a second to make: :attr:`arrow_ids`, :attr:`n_rows` and :meth:`ids_at` do without."""
        if "features" not in self.__dict__ and self._index is not None:
            return self._index_ids
        return self.features.ids

    def ids_at(self, positions) -> np.ndarray:
        """The ids at these pool positions (a numpy array of str)."""
        positions = np.asarray(positions, dtype=np.int64)
        if "_index_ids" in self.__dict__ or ("features" in self.__dict__ and self.features.has_id_array):
            return self.pool_ids[positions]
        import pyarrow as pa

        return np.asarray(self.arrow_ids.take(pa.array(positions)).to_pylist(), dtype=object)

    @cached_property
    def id_column_ids(self) -> np.ndarray:
        """The pool ids, for checking ids only (an import): from the cache when it is
        current, else one column of the pool, not its features."""
        if "features" in self.__dict__ or self._index is not None:
            return self.pool_ids
        id_col = self.cfg.data.id_column
        if id_col:
            col = data_mod.read_column(self.proj.pool_path, id_col, "id", as_str=True)
            return data_mod.normalise_ids(col).to_numpy(dtype=object)
        return self.features.ids

    @property
    def n_rows(self) -> int:
        """Rows in the pool (as its features have them)."""
        if "features" not in self.__dict__ and self._index is not None:
            return len(self._index[0])
        return self.features.n_rows

    @property
    def pool_key(self) -> str:
        """The features' key (pool content and feature settings), without loading the
        matrix when the cache is current."""
        return self._index[1] if self._index is not None else self.features.key

    @property
    def features_cached(self) -> bool:
        """The features came (or would come) from cache/ rather than being built now."""
        return self.features.cached if "features" in self.__dict__ else self._index is not None

    @cached_property
    def positions(self) -> pd.Series:
        """Pool id -> row position."""
        ids = self.pool_ids
        return pd.Series(np.arange(len(ids)), index=ids)

    def positions_of(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """(positions of the ids found in the pool, mask over ``ids`` of those found)."""
        ids = np.asarray(ids, dtype=object)
        if "positions" not in self.__dict__ and len(ids) * 20 < self.n_rows:
            return self._few_positions(ids)
        mapped = self.positions.reindex(ids)
        found = ~mapped.isna().to_numpy()
        return mapped[found].astype(int).to_numpy(), found

    @cached_property
    def arrow_ids(self):
        """The pool ids as a pyarrow string array (for vectorised lookups and scores.csv)."""
        if "features" not in self.__dict__ and self._index is not None:
            return self._index[0]
        return self.features.arrow_ids

    def _few_positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`positions_of` for a few ids against a large pool: one vectorised pass of
        the pool against the ids (no index of the whole pool, whose hashing costs more)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = pa.array([i for i in ids if isinstance(i, str)], type=pa.string())
        hit = np.flatnonzero(pc.is_in(self.arrow_ids, value_set=wanted).to_numpy(zero_copy_only=False))
        where = dict(zip(self.ids_at(hit).tolist(), hit.tolist()))
        got = [where.get(i) if isinstance(i, str) else None for i in ids.tolist()]
        found = np.fromiter((g is not None for g in got), dtype=bool, count=len(got))
        return np.asarray([g for g in got if g is not None], dtype=int), found

    @cached_property
    def available(self) -> np.ndarray:
        """Rows that may be queued: not labeled, not in the audit sample, the recall sample or
        the validation file."""
        excluded = self.labeled_ids | self.audit_set | self.validation_ids | set(self.recall_sample_ids)
        out = np.ones(self.n_rows, dtype=bool)
        pos, _ = self.positions_of(list(excluded))  # the one id index of the pool, built once
        out[pos] = False
        return out

    @cached_property
    def training(self) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, int]:
        """(positions, labels, label frame, n audit labels held out) of the training labels."""
        eff = self.known_labels
        n_audit = int(eff["id"].isin(self.audit_set).sum())
        eff = eff[~eff["id"].isin(self.audit_set)]
        held = eff["id"].isin(self.validation_ids)
        if held.any():
            warn(f"{int(held.sum())} labeled id(s) are also in the validation file and are left out "
                 f"of training (first: {eff['id'][held].iloc[0]!r})")
            eff = eff[~held]
        pos, found = self.positions_of(eff["id"].to_numpy())
        if not found.all():
            warn(f"{int((~found).sum())} labeled id(s) are no longer in the pool and are left out "
                 f"(first: {eff['id'].iloc[int(np.flatnonzero(~found)[0])]!r})")
        eff = eff[found].reset_index(drop=True)
        y = eff["label"].to_numpy(dtype=object)
        if self.cfg.labeling.share_twin_labels and len(pos):
            from al_cli.commands.twins import pool_groups, shared_labels

            tpos, tlab = shared_labels(pool_groups(self), pos, y, self.available)
            if len(tpos):
                twins = pd.DataFrame({"id": self.pool_ids[tpos], "label": tlab})
                eff = pd.concat([eff, twins], ignore_index=True)
                pos, y = np.concatenate([pos, tpos]), np.concatenate([y, tlab])
        return pos, y, eff, n_audit

    @cached_property
    def labels_key(self) -> str:
        """A digest of the training labels as given (audit ids out, before the validation
        and pool filters and twin sharing): retrain records it in the manifest, and status
        compares it to tell whether the latest model is current (store/labellog.labels_key)."""
        eff = self.known_labels
        eff = eff[~eff["id"].isin(self.audit_set)]
        return labellog.labels_key(zip(eff["id"].astype(str).tolist(), eff["label"].astype(str).tolist()))

    def labels_key_matches(self, key: str) -> bool:
        """Whether a manifest's ``labels_key`` is the key of the labels now. A key of the
        first format (32 hex digits, a pandas hash, written before status could compute
        without pandas) is compared with that hash: older projects are not told to retrain."""
        if labellog.is_labels_key(key):
            return key == self.labels_key
        import hashlib

        eff = self.known_labels
        eff = eff.loc[~eff["id"].isin(self.audit_set), ["id", "label"]].astype(str).sort_values("id")
        rows = pd.util.hash_pandas_object(eff, index=False).to_numpy()
        return key == hashlib.sha256(rows.tobytes()).hexdigest()[:32]

    # -- models --------------------------------------------------------------------
    @cached_property
    def latest_version(self) -> int | None:
        return self.proj.latest_model_version()

    @cached_property
    def trusted(self) -> list[str]:
        from al_cli.trust import trusted_types

        return trusted_types(self.cfg)

    def require_model(self) -> int:
        """The latest model version, without loading it; no model is an error."""
        v = self.latest_version
        if v is None:
            raise ProjectError("no model yet: run 'al retrain' first")
        return v

    @cached_property
    def model(self) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """(version, bundle, manifest) of the latest model. A version saved by al 0.1.0
        (a pickle only) is re-fitted from the labels its manifest records, never unpickled."""
        from al_cli.store.modelstore import LegacyModelError

        v = self.require_model()
        try:
            bundle, man = self.proj.load_model(v, self.trusted)
        except LegacyModelError:
            from al_cli.commands.retrain import refit_legacy

            bundle, man = refit_legacy(self, v)
        return v, bundle, man

    @cached_property
    def head(self):
        """The latest model's head (a linear model's probabilities in numpy, see
        :mod:`al_cli.models.head`): read from its file without loading the model when it
        has one, else taken from the model when that is loaded already; None for a model
        that is not linear (or a head that cannot be read: then the model is loaded)."""
        from al_cli.models.head import Head, of_estimator

        if "model" in self.__dict__:
            _, bundle, _ = self.model
            return of_estimator(bundle["estimator"], bundle["model_name"], bundle["feature_key"])
        data = self.proj.load_head(self.require_model())
        if data is None:
            return None
        try:
            return Head.from_bytes(data)
        except ValueError:
            return None

    @property
    def round(self) -> int:
        return self.latest_version or 0

    # -- randomness ------------------------------------------------------------------
    def stream(self, purpose: str, *keys: int) -> np.random.Generator:
        return rng_mod.stream(self.cfg.random_state, purpose, *keys)
