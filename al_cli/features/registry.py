"""The feature extractor registry: how each kind of column becomes numbers.

Every column named in al.yaml is of one kind: ``text`` (``data.text_columns``),
``numeric`` or ``categorical`` (``data.feature_columns``, typed from the pool), ``image``
(``data.image_columns``), ``embedding`` (``data.embedding_columns`` and the vectors of
``data.embedding_file``). The ``features:`` section of al.yaml names the extractor used for
each kind (defaults: ``tfidf``, ``standard``, ``onehot``, ``pixels``, ``l2``), and
``features.columns`` one for a single text or image column. An :class:`ExtractorSpec` builds an unfitted
scikit-learn transformer for the pool's row count; it is fitted on the whole pool
(no labels) and cached under ``cache/``.

No scikit-learn import here: builders import it when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from al_cli.registry import Registry, resolve

KINDS = ("text", "numeric", "categorical", "image", "embedding")
DEFAULTS = {"text": "tfidf", "numeric": "standard", "categorical": "onehot", "image": "pixels",
            "embedding": "l2"}


@dataclass(frozen=True)
class ExtractorSpec:
    name: str
    kind: str                                     # one of KINDS
    description: str
    build: Callable[[int], Any] | str             # (n_pool_rows) -> unfitted transformer
    trusted_types: tuple[str, ...] = ()           # its classes beyond scikit-learn's

    def make(self, n_rows: int):
        return resolve(self.build)(n_rows)


_F = "al_cli.features.builtin:"
#: the text extractor of a discovery project ('al init --task discovery', 'al simulate --task discovery')
DISCOVERY_TEXT = "tfidf_saturated"
_E = "al_cli.features.embed:"


def _builtins() -> dict[str, ExtractorSpec]:
    items = [
        ExtractorSpec("tfidf", "text", "TF-IDF of words and word pairs (sublinear tf)", _F + "tfidf"),
        ExtractorSpec("tfidf_all", "text", "TF-IDF keeping terms seen once", _F + "tfidf_all"),
        ExtractorSpec("tfidf_saturated", "text",
                      "tfidf_all with 15% of each row's weight on term presence (discovery default)",
                      _F + "tfidf_saturated"),
        ExtractorSpec("minilm", "text", "sentence embeddings, all-MiniLM-L6-v2 (extra: al-cli[embeddings])",
                      _E + "minilm", ("al_cli.features.embed.SentenceEmbedding",)),
        ExtractorSpec("pixels", "image", "grey levels at 32x32, then PCA (at most 64 components)",
                      "al_cli.features.images:pixels", ("al_cli.features.images.ImagePixels",)),
        ExtractorSpec("l2", "embedding", "each vector scaled to unit length", _E + "l2",
                      ("al_cli.features.embed.RowNormalizer", "al_cli.features.embed.EmbeddingLookup")),
        ExtractorSpec("raw", "embedding", "the vectors as they are", _E + "raw",
                      ("al_cli.features.embed.AsIs", "al_cli.features.embed.EmbeddingLookup")),
        ExtractorSpec("standard", "numeric", "median imputation, then standard scaling", _F + "standard"),
        ExtractorSpec("onehot", "categorical", "one-hot, up to 50 categories per column", _F + "onehot"),
    ]
    return {e.name: e for e in items}


EXTRACTORS: Registry[ExtractorSpec] = Registry("feature extractor", "al_cli.features", ExtractorSpec,
                                               _builtins)


def names(kind: str | None = None) -> list[str]:
    if kind is None:
        return EXTRACTORS.names()
    return [n for n in EXTRACTORS.names() if n not in EXTRACTORS.builtins()
            or EXTRACTORS.builtins()[n].kind == kind]


def get(name: str) -> ExtractorSpec:
    return EXTRACTORS.get(name)
