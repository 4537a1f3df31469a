"""Images: features from the pixels, and what the labeler draws.

A column of image paths (``data.image_columns``; a relative path is relative to the folder
of the file that names it, the pool or a validation file) becomes features with the
``pixels`` extractor: each image in grey levels, resized to 32x32, then PCA fitted on the
pool (at most 64 components, not rescaled). Bring vectors of your own model with ``data.embedding_file``
for anything better. An image that is missing or unreadable is named in one warning and
counts as the pool's average image; it never stops a command.

Pillow reads the images (a dependency of matplotlib, named in al's own dependencies).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from al_cli.report import progress, warn

SIDE = 32
# Formats Pillow decodes itself (EPS, for one, is handed to Ghostscript: never opened)
RASTER = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "TGA", "ICO", "DDS", "PCX", "SGI", "DIB",
          "JPEG2000", "QOI", "MPO")
_SHOWN_MAX = 3  # unreadable images named in the warning


def read_image(path: str | Path, mode: str = "L", size: tuple[int, int] | None = None):
    """(array, None) for a readable image (``mode`` L: grey, RGB: colour; resized to
    ``size`` when given), else (None, why): never raises for a bad file."""
    from PIL import Image, UnidentifiedImageError

    p = Path(str(path))
    try:
        Image.init()
        with Image.open(p, formats=[f for f in RASTER if f in Image.OPEN]) as im:  # never EPS & co
            im.draft(mode, size) if size else None  # a JPEG decodes smaller when it can
            im = im.convert("RGBA").convert(mode) if im.mode in ("P", "LA", "PA") else im.convert(mode)
            if size:
                im = im.resize(size, Image.Resampling.LANCZOS)
            return np.asarray(im), None
    except FileNotFoundError:
        return None, "not found"
    except IsADirectoryError:
        return None, "a folder, not an image"
    except UnidentifiedImageError:
        return None, "not an image Pillow can read"
    except (OSError, ValueError, SyntaxError) as exc:  # truncated, damaged, too large
        return None, f"unreadable ({exc})"
    except Image.DecompressionBombError:
        return None, "too large to open safely"
    except Exception as exc:  # noqa: BLE001 - a bad file is a message, never a stopped command
        return None, f"unreadable ({type(exc).__name__}: {exc})"


def resolve(values: pd.Series, base: Path) -> pd.Series:
    """Image paths as absolute strings; relative ones are taken from ``base``; a missing
    value stays empty."""
    def one(v) -> str:
        if v is None or (isinstance(v, float) and v != v) or str(v).strip() == "":
            return ""
        p = Path(str(v).strip()).expanduser()
        return str(p if p.is_absolute() else base / p)

    return values.map(one).astype(object)


class ImagePixels(BaseEstimator, TransformerMixin):
    """Paths -> grey levels in [0, 1] of the image resized to side x side; a row whose
    image cannot be read gets NaN (imputed with the average next)."""

    def __init__(self, side: int = SIDE):
        self.side = side

    def fit(self, X, y=None):
        self.n_pixels_ = self.side * self.side
        return self

    def transform(self, X):
        paths = pd.DataFrame(X).iloc[:, 0].astype(str).tolist()
        out = np.full((len(paths), self.side * self.side), np.nan, dtype=np.float32)
        bad: list[tuple[str, str]] = []
        with progress(len(paths), f"reading {len(paths):,} images") as advance:
            for i, p in enumerate(paths):
                if not p:
                    bad.append(("(empty)", "no path"))
                else:
                    arr, why = read_image(p, "L", (self.side, self.side))
                    if arr is None:
                        bad.append((p, why))
                    else:
                        out[i] = arr.reshape(-1).astype(np.float32) / 255.0
                if i % 256 == 255:
                    advance(256)
            advance(len(paths) % 256)
        if bad:
            named = "; ".join(f"{p}: {why}" for p, why in bad[:_SHOWN_MAX])
            more = f"; and {len(bad) - _SHOWN_MAX} more" if len(bad) > _SHOWN_MAX else ""
            warn(f"{len(bad)} image(s) could not be read ({named}{more}); they count as the average image")
        return out

    def get_feature_names_out(self, input_features=None):
        return np.array([f"px{i}" for i in range(self.side * self.side)], dtype=object)


def pixels(n_rows: int):
    """Not scaled after the PCA: components keep their variance, so the few that carry the
    images weigh most, and a component of (nearly) no variance stays near 0 instead of
    being blown up into noise (on 8x8 digits a scaler cost 0.92 -> 0.69 accuracy)."""
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("read", ImagePixels()),
        ("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
        ("pca", PCA(n_components=max(1, min(64, n_rows - 1, SIDE * SIDE)), random_state=0)),
    ])


# ---------------------------------------------------------------- drawn in the terminal
def preview(path: str | Path, max_cols: int, max_rows: int):
    """The image as terminal cells, two pixels per cell (upper and lower half): a list of
    rows, each a list of (top RGB, bottom RGB); or (None, why) when it cannot be read.
    Fits ``max_cols`` x ``max_rows`` cells keeping its proportions; a small image is
    enlarged by whole steps so its pixels stay sharp."""
    from PIL import Image

    arr, why = read_image(path, "RGB")
    if arr is None:
        return None, why
    h, w = arr.shape[:2]
    if not h or not w:
        return None, "an empty image"
    scale = min(max_cols / w, (2 * max_rows) / h)
    cols = max(1, int(w * scale))
    rows2 = max(2, int(h * scale) // 2 * 2)
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    img = np.asarray(Image.fromarray(arr).resize((cols, rows2), resample))
    cells = [[(tuple(int(v) for v in img[r, c]), tuple(int(v) for v in img[r + 1, c])) for c in range(cols)]
             for r in range(0, rows2, 2)]
    return cells, None


RAMP = " .:-=+*#%@"  # dark to light ink, for a terminal without colours


def ascii_cell(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> str:
    """One character for two pixels on a terminal without colour: denser for darker."""
    lum = (sum(top) + sum(bottom)) / (6 * 255)
    return RAMP[min(len(RAMP) - 1, int((1 - lum) * len(RAMP)))]
