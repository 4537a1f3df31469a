"""Rebuild the sample projects' CSV files from their sources.

Not needed to run the samples (the CSVs are committed); kept so the derivation is
reproducible and reviewable.

    python sample_projects/prepare_data.py SCREENING_CSV [PENGUINS_CSV]
    python sample_projects/prepare_data.py --digits

SCREENING_CSV: sr_nagtegaal_2019.csv (SYNERGY / ASReview, columns title,abstract,label).
PENGUINS_CSV:  penguins.csv as shipped by `pip install palmerpenguins` (default: the
               installed package's copy).
--digits:      the digits sample (PNG images + CSVs) from scikit-learn's bundled
               `load_digits` (the UCI optical-digits test set); needs Pillow.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
SPLIT_SEED = 0          # fixed: the validation split must never move
ABSTRACT_MAX = 1500     # characters; keeps the text sample under ~3 MB


def _write(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    print(f"{path.relative_to(HERE)}: {len(df)} rows")


def _split(df: pd.DataFrame, ids: list[str], labels: pd.Series, folder: Path) -> None:
    df = df.copy()
    df.insert(0, "id", ids)
    df["label"] = labels.to_numpy()
    pool, val = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=SPLIT_SEED)
    pool, val = pool.sort_index(), val.sort_index()   # original row order
    _write(pool.drop(columns="label"), folder / "pool.csv")
    _write(val, folder / "validation.csv")
    _write(pool[["id", "label"]], folder / "answers.csv")


def _shorten(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= ABSTRACT_MAX:
        return text
    cut = text[:ABSTRACT_MAX].rsplit(" ", 1)[0]
    return cut + " [...]"


def screening(src: Path) -> None:
    d = pd.read_csv(src, keep_default_na=False, dtype=str)
    d["title"] = d["title"].map(lambda t: re.sub(r"\s+", " ", t).strip())
    d["abstract"] = d["abstract"].map(_shorten)
    labels = d["label"].astype(int).map({1: "include", 0: "exclude"})
    ids = [f"ng{i:04d}" for i in range(1, len(d) + 1)]
    _split(d[["title", "abstract"]], ids, labels, HERE / "screening")


def penguins(src: Path) -> None:
    d = pd.read_csv(src, dtype=str)   # keep the numbers as written; NA -> empty field
    labels = d.pop("species")
    ids = [f"pg{i:03d}" for i in range(1, len(d) + 1)]
    _split(d, ids, labels, HERE / "penguins")


DIGIT_SCALE = 4         # 8x8 -> 32x32, nearest neighbour: big enough to see in a viewer


def digits() -> None:
    """One greyscale PNG per image, dark ink on white; image paths relative to the CSVs."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    folder = HERE / "digits"
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for old in images.glob("*.png"):
        old.unlink()
    names = [f"{i:04d}" for i in range(1, len(d.images) + 1)]
    for name, img in zip(names, d.images):
        grey = np.rint(255 - img * 255 / 16).astype(np.uint8)     # 0..16 ink -> 255..0
        grey = np.kron(grey, np.ones((DIGIT_SCALE, DIGIT_SCALE), dtype=np.uint8))
        Image.fromarray(grey).save(images / f"{name}.png", optimize=True)
    print(f"{images.relative_to(HERE)}/: {len(names)} PNG files")
    table = pd.DataFrame({"image": [f"images/{n}.png" for n in names]})
    labels = pd.Series(d.target.astype(str))
    _split(table, [f"dg{n}" for n in names], labels, folder)


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    if argv == ["--digits"]:
        digits()
        return
    screening(Path(argv[0]))
    if len(argv) > 1:
        src = Path(argv[1])
    else:
        import palmerpenguins
        src = Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"
    penguins(src)


if __name__ == "__main__":
    main(sys.argv[1:])
