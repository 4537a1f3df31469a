"""Model bundles and fitted transformers in a format that cannot run code: skops.

A pickle (joblib) runs whatever code its bytes name when it is loaded, so a file that
someone with write access to the project changed could run code as the next user of al.
al saves what it must load back (the latest model, the feature transform) with skops
(https://skops.readthedocs.io), which rebuilds objects only from an explicit list of
trusted types and refuses anything else, and keeps joblib files only for people who
load a model in Python themselves. Why skops and not our own format: it already knows
how to save and rebuild every scikit-learn estimator, array and sparse matrix safely.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from al_cli.errors import IntegrityError
from al_cli.store.atomic import atomic_target, sha256_file


# skops lists scikit-learn's estimators when it is imported, by importing every module of
# scikit-learn, the array-API adapters too: with PyTorch installed (the embeddings extra)
# that alone imports torch, about a second of every command's start. The adapters hold no
# estimator, so while skops looks they stand in as empty packages, and are gone after.
_ADAPTERS = ("torch", "cupy", "dask")


def _skops():
    import sys
    import types

    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    stubs = {}
    for backend in _ADAPTERS:
        name = f"sklearn.externals.array_api_compat.{backend}"
        if name not in sys.modules and backend not in sys.modules:
            stub = types.ModuleType(name)
            stub.__path__ = []  # a package with nothing to walk into
            stubs[name] = sys.modules[name] = stub
    try:
        import skops.io as sio
    finally:
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]
    return sio


def dump(path: Path, obj: Any) -> str:
    """Save ``obj`` atomically with skops; returns the sha256 of the file."""
    sio = _skops()

    with atomic_target(path) as tmp:
        sio.dump(obj, tmp)
        digest = sha256_file(tmp)
    return digest


def read_verified(path: Path, sha256: str | None, what: str) -> bytes:
    """The bytes of ``path``, read once and checked against ``sha256``: what is checked is
    what is loaded (no file swapped between the check and the load)."""
    import hashlib

    data = Path(path).read_bytes()
    if sha256 is None or hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError(f"{path}: sha256 does not match {what}; refusing to load a file al did not write")
    return data


def load(path: Path, trusted: Iterable[str], data: bytes | None = None) -> Any:
    """Load a skops file (or its verified ``data``) whose every type is trusted by skops
    itself or in ``trusted``; anything else is refused before a single object is built."""
    sio = _skops()

    if data is None:
        data = Path(path).read_bytes()
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # noqa: BLE001 - damaged file: not al's
        raise IntegrityError(f"{path}: not a readable skops file ({type(exc).__name__}: {exc})") from None
    refused = sorted(untrusted - set(trusted))
    if refused:
        raise IntegrityError(f"{path}: holds types al does not trust ({', '.join(refused[:3])}"
                             f"{', ...' if len(refused) > 3 else ''}); refusing to load it")
    try:
        return sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:  # noqa: BLE001 - damaged file
        raise IntegrityError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc})") from None
