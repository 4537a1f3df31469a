"""The types al trusts when it loads a model or a feature transform (see
:mod:`al_cli.store.safeio`): its own classes, and those the configured plugins declare
(``ModelSpec.trusted_types``, ``ExtractorSpec.trusted_types``). scikit-learn's estimators,
numpy and scipy types are trusted by skops itself."""

from __future__ import annotations

AL_TYPES = (
    "numpy.dtype",  # a transformer's dtype=np.float32 parameter
    "al_cli.features.builtin.TextJoiner",
    "al_cli.features.builtin.CompactTfidf",
    "al_cli.features.builtin.SaturatedTfidf",
    "al_cli.models.builtin.EncodedLabels",
    "al_cli.models.builtin.RelevanceLogistic",
    "al_cli.features.embed.SentenceEmbedding",
    "al_cli.features.embed.EmbeddingLookup",
    "al_cli.features.embed.RowNormalizer",
    "al_cli.features.embed.AsIs",
    "al_cli.features.images.ImagePixels",
)


def trusted_types(cfg) -> list[str]:
    """al's own types, those of every built-in model and extractor (a model saved before
    al.yaml named another one must still load), and those of the plugins ``cfg`` names."""
    from al_cli.features.registry import EXTRACTORS
    from al_cli.models.registry import MODELS

    out = list(AL_TYPES)
    for spec in [*MODELS.builtins().values(), *EXTRACTORS.builtins().values()]:
        out += spec.trusted_types
    if cfg.model.name in MODELS:
        out += MODELS.get(cfg.model.name).trusted_types
    for name in [*(getattr(cfg.features, k) for k in ("text", "numeric", "categorical", "image", "embedding")),
                 *cfg.features.columns.values()]:
        if name in EXTRACTORS:
            out += EXTRACTORS.get(name).trusted_types
    return sorted(set(out))
