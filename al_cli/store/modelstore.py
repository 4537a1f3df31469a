"""``models/NNNN.joblib`` + ``NNNN.skops`` (+ ``NNNN.head.npz``) + ``NNNN.json``: one model version.

The bundle is a dict: ``format``, ``estimator``, ``transformer``, ``feature_key``,
``model_name``, ``classes``. It is written twice: as joblib (a pickle, for people who
load it in Python) and as its skops twin, the only one al itself loads (a pickle can run
code; see :mod:`al_cli.store.safeio`). The JSON manifest beside them records the labels
used, class counts, library versions, metrics and both files' sha256. A twin is loaded
only when its sha256 matches the manifest, only with trusted types, and only in a format
this al knows (``docs/contract.md``, *Model bundle*). Versions written by al before the
twins (manifest format 1) have none: :class:`LegacyModelError` says so, and the commands
re-fit such a model from the labels its manifest records instead of unpickling it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from al_cli.errors import FormatError, IntegrityError, ProjectError
from al_cli.store import safeio
from al_cli.store.atomic import atomic_joblib_dump, atomic_write_bytes, atomic_write_json, sha256_file

BUNDLE_FORMAT = 1      # layout of the bundle dict
MANIFEST_FORMAT = 2    # layout of NNNN.json: 2 adds the skops twin (absent in al 0.1.0 files: 1)


class LegacyModelError(ProjectError):
    """A model version saved only as a pickle (al 0.1.0): al does not unpickle it."""

    def __init__(self, message: str, version: int):
        super().__init__(message)
        self.version = version
BUNDLE_KEYS = ("estimator", "transformer", "feature_key", "model_name", "classes")

# Bundles already unpickled in this process, by (path, verified sha256): a process running
# several commands (tests, 'al simulate') loads each model version once. Read-only use.
_MEMO: dict[tuple[str, str], Any] = {}
_MEMO_SIZE = 8


class ModelStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def versions(self) -> list[int]:
        if not self.folder.exists():
            return []
        out = []
        for p in self.folder.glob("*.json"):
            if p.stem.isdigit() and (self.folder / f"{p.stem}.joblib").exists():
                out.append(int(p.stem))
        return sorted(out)

    def latest(self) -> int | None:
        v = self.versions()
        return v[-1] if v else None

    def paths(self, version: int) -> tuple[Path, Path]:
        return (self.folder / f"{version:04d}.joblib", self.folder / f"{version:04d}.json")

    def twin_path(self, version: int) -> Path:
        return self.folder / f"{version:04d}.skops"

    def head_path(self, version: int) -> Path:
        return self.folder / f"{version:04d}.head.npz"

    def save(self, bundle: dict[str, Any], manifest: dict[str, Any], head: bytes | None = None) -> int:
        """Write NNNN.joblib, NNNN.skops, NNNN.head.npz (``head``: a linear model's
        probabilities in numpy, see :mod:`al_cli.models.head`), then NNNN.json (the
        manifest makes the version visible). The caller holds the project lock."""
        import hashlib

        version = (self.latest() or 0) + 1
        jpath, mpath = self.paths(version)
        full = {"format": BUNDLE_FORMAT, **bundle}
        digest = atomic_joblib_dump(jpath, full)
        twin = safeio.dump(self.twin_path(version), full)
        heads = {}
        if head is not None:
            atomic_write_bytes(self.head_path(version), head)
            heads = {"head": self.head_path(version).name, "head_sha256": hashlib.sha256(head).hexdigest()}
        manifest = {"format": MANIFEST_FORMAT, "version": version, "file": jpath.name,
                    "sha256": digest, "twin": self.twin_path(version).name, "twin_sha256": twin,
                    **heads, **manifest}
        atomic_write_json(mpath, manifest)
        return version

    def add_twin(self, version: int, bundle: dict[str, Any], manifest: dict[str, Any],
                 note: dict[str, Any]) -> dict[str, Any]:
        """Give a legacy version its twin (the caller re-fitted ``bundle``); the manifest
        gains the twin and ``note``. The caller holds the project lock."""
        twin = safeio.dump(self.twin_path(version), {"format": BUNDLE_FORMAT, **bundle})
        manifest = {**manifest, "format": MANIFEST_FORMAT, "twin": self.twin_path(version).name,
                    "twin_sha256": twin, **note}
        atomic_write_json(self.paths(version)[1], manifest)
        return manifest

    def manifest(self, version: int, read_json) -> dict[str, Any]:
        _, mpath = self.paths(version)
        man = read_json(mpath)
        if not isinstance(man, dict) or "sha256" not in man:
            raise IntegrityError(f"{mpath}: not a model manifest written by al")
        fmt = man.get("format", 1)
        if not isinstance(fmt, int) or fmt > MANIFEST_FORMAT:
            raise FormatError(f"{mpath}: model manifest format {fmt!r} is newer than this al "
                              f"reads ({MANIFEST_FORMAT}); upgrade al")
        return man

    def write_manifest(self, version: int, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.paths(version)[1], manifest)

    def head(self, version: int, read_json) -> bytes | None:
        """The verified bytes of ``version``'s head file; None when it has none, or when it
        or the version's twin does not match the manifest (the twin is then loaded instead,
        and a damaged twin refused as ever: a version is used whole or not at all)."""
        import hashlib

        try:
            man = self.manifest(version, read_json)
            name, sha = man.get("head"), man.get("head_sha256")
            if name != self.head_path(version).name or not isinstance(sha, str):
                return None
            if man.get("twin") != self.twin_path(version).name or sha256_file(self.twin_path(version)) != man.get("twin_sha256"):
                return None
            data = self.head_path(version).read_bytes()
        except (OSError, IntegrityError, FormatError):
            return None
        return data if hashlib.sha256(data).hexdigest() == sha else None

    def load(self, version: int, read_json, trusted: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The bundle of ``version`` from its skops twin (never from the pickle)."""
        jpath, mpath = self.paths(version)
        man = self.manifest(version, read_json)
        if not man.get("twin"):
            raise LegacyModelError(f"{jpath}: model {version:04d} was saved by al 0.1.0 as a pickle only; "
                                   "al does not load pickles (run 'al retrain')", version)
        tpath = self.folder / str(man["twin"])
        if tpath.name != self.twin_path(version).name:
            raise IntegrityError(f"{mpath}: names a twin {man['twin']!r} that is not this version's")
        if not tpath.exists():
            raise IntegrityError(f"{tpath}: missing (its manifest {mpath.name} exists)")
        key = (str(tpath.resolve()), man.get("twin_sha256"))
        if key in _MEMO and sha256_file(tpath) == key[1]:  # same verified bytes: no second load
            return _MEMO[key], man
        data = safeio.read_verified(tpath, man.get("twin_sha256"), mpath.name)
        bundle = safeio.load(tpath, trusted, data)
        check_bundle(bundle, tpath)
        while len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = bundle
        return bundle, man


def check_bundle(bundle: Any, path: Path) -> None:
    """A bundle of a known format, with every key al reads."""
    if not isinstance(bundle, dict):
        raise IntegrityError(f"{path}: not a model bundle written by al")
    fmt = bundle.get("format")
    if not isinstance(fmt, int):
        raise IntegrityError(f"{path}: model bundle has no format version")
    if fmt > BUNDLE_FORMAT:
        raise FormatError(f"{path}: model bundle format {fmt} is newer than this al reads "
                          f"({BUNDLE_FORMAT}); upgrade al")
    missing = [k for k in BUNDLE_KEYS if k not in bundle]
    if missing:
        raise IntegrityError(f"{path}: model bundle lacks '{missing[0]}'")
