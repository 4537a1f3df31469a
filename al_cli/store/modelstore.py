"""``models/NNNN.joblib`` + ``NNNN.json``: one file pair per model version.

The joblib file holds the bundle (a dict: ``format``, ``estimator``, ``transformer``,
``feature_key``, ``model_name``, ``classes``); the JSON manifest beside it records the
labels used, class counts, library versions, metrics and the bundle's sha256. A bundle
is loaded only when its sha256 matches the manifest, and only in a format this al
knows (see ``docs/contract.md``, *Model bundle*).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from al_cli.errors import FormatError, IntegrityError
from al_cli.store.atomic import atomic_joblib_dump, atomic_write_json, sha256_file

BUNDLE_FORMAT = 1      # layout of the dict in NNNN.joblib
MANIFEST_FORMAT = 1    # layout of NNNN.json (absent in files of al 0.1.0: read as 1)
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

    def save(self, bundle: dict[str, Any], manifest: dict[str, Any]) -> int:
        """Write NNNN.joblib then NNNN.json (the manifest makes the version visible).
        The caller holds the project lock."""
        version = (self.latest() or 0) + 1
        jpath, mpath = self.paths(version)
        digest = atomic_joblib_dump(jpath, {"format": BUNDLE_FORMAT, **bundle})
        manifest = {"format": MANIFEST_FORMAT, "version": version, "file": jpath.name,
                    "sha256": digest, **manifest}
        atomic_write_json(mpath, manifest)
        return version

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

    def load(self, version: int, read_json) -> tuple[dict[str, Any], dict[str, Any]]:
        import joblib

        jpath, mpath = self.paths(version)
        man = self.manifest(version, read_json)
        if not jpath.exists():
            raise IntegrityError(f"{jpath}: missing (its manifest {mpath.name} exists)")
        if sha256_file(jpath) != man["sha256"]:
            raise IntegrityError(
                f"{jpath}: sha256 does not match {mpath.name}; refusing to load a file al did not write"
            )
        key = (str(jpath.resolve()), man["sha256"])
        if key in _MEMO:  # same file, same verified bytes: skip unpickling again
            return _MEMO[key], man
        try:
            bundle = joblib.load(jpath)
        except Exception as exc:  # noqa: BLE001 - corrupt pickle of ours
            raise IntegrityError(f"{jpath}: cannot be loaded ({type(exc).__name__}: {exc})") from None
        check_bundle(bundle, jpath)
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
