"""What the labeler shows for a queued row: its fields, formatted and cleaned, and the
tags of notes. Reads the pool once per session; no terminal code."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli.errors import DataError
from al_cli.text import printable

TEXT_INLINE_MAX = 80  # longer values are shown as a wrapped paragraph, not a table cell


TAG_RE = re.compile(r"#([\w-]+)")


def format_tag(tag: str) -> str:
    return "#" + re.sub(r"\s+", "-", tag.strip())


def note_tags(note: str, tags: list[str] | None = None) -> list[str]:
    """The tags in a note: ``#tag`` tokens (as the labeler writes them), in order.

    With ``tags`` given, only those (compared case-insensitively, spaces as ``-``)
    count; a note that is exactly a tag name counts too.
    """
    note = note or ""
    found = TAG_RE.findall(note)
    if tags is None:
        return found
    canon = {format_tag(t)[1:].lower(): t for t in tags}
    out = [canon[f.lower()] for f in found if f.lower() in canon]
    bare = note.strip().lower().replace(" ", "-")
    if not out and bare in canon:
        out = [canon[bare]]
    return out


def add_tag(note: str, tag: str) -> str:
    """``note`` with ``#tag`` appended once."""
    t = format_tag(tag)
    if t in note.split():
        return note
    return (note.rstrip() + " " + t).strip()


def display_columns(cfg) -> list[str]:
    cols = cfg.labeling.display_columns or [*cfg.data.text_columns, *cfg.data.feature_columns]
    return list(dict.fromkeys(cols))


@dataclass
class ItemView:
    """What the UI shows for one queued row."""

    id: str
    fields: list[tuple[str, str, bool]]  # (column, value, shown as a paragraph)
    prediction: tuple[str, float] | None = None
    purpose: str = ""
    images: list[tuple[str, str, str]] = field(default_factory=list)  # (column, absolute path, as written)


def _fmt_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:g}"
    if isinstance(v, (np.floating,)):
        return _fmt_value(float(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    # Text from outside must not drive the annotator's terminal: drop control characters
    # (ESC sequences, bell, clear-screen, C1) but keep tabs and newlines.
    return printable(v, keep_newlines=True)


def load_views(proj, ids: list[str], purposes: dict[str, str] | None = None) -> dict[str, ItemView]:
    """Read the pool once and keep only the queued rows, formatted for display."""
    cfg = proj.config
    path = proj.pool_path
    cols = display_columns(cfg)
    image_cols = [c for c in cfg.data.image_columns if c not in cols]
    if data_mod.big_pool(path):
        from al_cli.report import busy

        with busy(f"finding the {len(ids):,} queued rows in {Path(path).name}"):
            df, pool_ids = _queued_rows(path, cfg, [*cols, *image_cols], ids)
    else:
        df = data_mod.read_table(path, "pool", str_columns=[cfg.data.id_column])
        _check_shown(df, [*cols, *image_cols], cfg, path)
        pool_ids = data_mod.ids_for(df, cfg.data.id_column, path)
    pos = pd.Series(np.arange(len(pool_ids)), index=pool_ids.to_numpy())
    wanted = pos.reindex(ids)
    wanted = wanted[~wanted.isna()].astype(int)
    sub = df.iloc[wanted.to_numpy()][cols]
    images = _image_paths(df.iloc[wanted.to_numpy()], list(wanted.index), cfg.data.image_columns, Path(path).parent)
    text_cols = set(cfg.data.text_columns)
    preds = _predictions(proj, list(wanted.index)) if cfg.labeling.show_prediction else {}
    out: dict[str, ItemView] = {}
    for item_id, values in zip(wanted.index, sub.itertuples(index=False, name=None)):
        fields = []
        for c, v in zip(cols, values):
            s = _fmt_value(v)
            fields.append((printable(c), s, c in text_cols or len(s) > TEXT_INLINE_MAX or "\n" in s))
        out[item_id] = ItemView(item_id, fields, preds.get(item_id), (purposes or {}).get(item_id, ""),
                                images.get(item_id, []))
    return out


def _check_shown(df: pd.DataFrame, columns: list[str], cfg, path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        where = "labeling.display_columns" if cfg.labeling.display_columns else "data columns"
        raise DataError(f"{path}: column '{missing[0]}' ({where} in al.yaml) not found in the pool")


def _queued_rows(path, cfg, columns: list[str], ids: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """A big pool (data.big_pool): only the queued rows, read a block at a time."""
    from al_cli.errors import ColumnNotFoundError

    try:
        from al_cli.pool_rows import rows_with_ids

        return rows_with_ids(path, cfg.data.id_column, columns, ids)
    except ColumnNotFoundError as exc:
        if exc.column in columns:
            _check_shown(pd.DataFrame(), [exc.column], cfg, path)
        raise


def _image_paths(sub: pd.DataFrame, ids: list[str], columns: list[str],
                 base: Path) -> dict[str, list[tuple[str, str, str]]]:
    """id -> [(column, absolute path, as written)] of the rows' images (relative paths are
    taken from the pool's folder)."""
    if not columns:
        return {}
    from al_cli.features.images import resolve

    resolved = {c: resolve(sub[c], base).tolist() for c in columns}
    out: dict[str, list[tuple[str, str, str]]] = {}
    for i, item_id in enumerate(ids):
        out[item_id] = [(printable(c), resolved[c][i], _fmt_value(sub[c].iloc[i])) for c in columns]
    return out


def _predictions(proj, ids: list[str]) -> dict[str, tuple[str, float]]:
    path = proj.scores_path
    if not path.exists():
        return {}
    try:
        sc = pd.read_csv(path, dtype={"id": str, "predicted": str}, keep_default_na=False,
                         usecols=lambda c: c in ("id", "predicted", "confidence"))
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        return {}
    if not {"id", "predicted", "confidence"} <= set(sc.columns):
        return {}
    sc = sc[sc["id"].isin(set(ids))]
    conf = pd.to_numeric(sc["confidence"], errors="coerce")
    return {i: (p, float(c)) for i, p, c in zip(sc["id"], sc["predicted"], conf) if p and c == c}


