"""Random streams, one per purpose.

Every random choice draws from a stream keyed by the project's ``random_state``, the
purpose (``"query.select"``, ``"committee"``, ...) and the state it depends on (model
version, number of training labels). Streams are independent: a batch never depends on
which commands ran before it, nor on how many draws another purpose made (``al query``
and ``al score && al query`` give the same batch).
"""

from __future__ import annotations

import hashlib

import numpy as np

# the purposes al draws for; a new purpose gets a new name, never a reused one
# ("score.NAME" for the base score NAME, e.g. score.random)
PURPOSES = ("seed", "audit", "query.select", "score.NAME", "committee", "density", "recall_sample")


# Purposes whose stream is the one al 0.1.0 drew from, so their choices did not change
# with the reshape: the first batch of 'al seed' (random_state, 0, labels so far).
LEGACY = {"seed": (0,)}


def stream(random_state: int, purpose: str, *keys: int) -> np.random.Generator:
    """A Generator for ``purpose`` given ``keys`` (non-negative integers)."""
    if purpose in LEGACY:
        return np.random.default_rng([int(random_state), *LEGACY[purpose], *(int(k) for k in keys)])
    tag = int.from_bytes(hashlib.sha256(purpose.encode("utf-8")).digest()[:8], "big")
    words = [int(random_state), tag, *(int(k) for k in keys)]
    if any(w < 0 for w in words):
        raise ValueError("random streams need non-negative keys")
    return np.random.default_rng(np.random.SeedSequence(words))
