"""Registries of parts: strategies, models, feature extractors, stopping rules.

Each registry holds al's own parts and those that installed packages declare through
an entry point group (as asreview does)::

    [project.entry-points."al_cli.strategies"]
    my_score = "my_package.al_parts:MY_SCORE"

The entry point names an object of the registry's spec type (``BaseScore``,
``ModelSpec``, ``ExtractorSpec``, ``StopRule``), or a callable returning one. Names are
listed without importing the plugin (so ``al --help`` stays fast); the object is loaded
the first time it is used. A plugin whose name is already taken is ignored with a
warning; one that fails to load is a :class:`~al_cli.errors.PluginError` naming it.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Generic, TypeVar

from al_cli.errors import PluginError

T = TypeVar("T")


def resolve(ref: Any) -> Any:
    """``"package.module:attr"`` -> the object (imported now); anything else as is."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str, spec_type: type, builtins: Callable[[], dict[str, T]]):
        self.kind = kind              # "strategy", "model", ...
        self.group = group            # entry point group
        self.spec_type = spec_type
        self._builtins_fn = builtins
        self._builtins: dict[str, T] | None = None
        self._eps: dict[str, Any] | None = None
        self._loaded: dict[str, T] = {}

    # -- names ---------------------------------------------------------------
    def builtins(self) -> dict[str, T]:
        if self._builtins is None:
            self._builtins = dict(self._builtins_fn())
        return self._builtins

    def _entry_points(self) -> dict[str, Any]:
        if self._eps is None:
            from importlib.metadata import entry_points

            found: dict[str, Any] = {}
            for ep in entry_points(group=self.group):
                if ep.name in self.builtins() or ep.name in found:
                    from al_cli.report import warn

                    warn(f"{self.kind} plugin {ep.name!r} ({ep.value}) is ignored: the name is taken")
                    continue
                found[ep.name] = ep
            self._eps = found
        return self._eps

    def names(self) -> list[str]:
        return [*self.builtins(), *self._entry_points()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.builtins() or name in self._entry_points())

    def plugin_names(self) -> list[str]:
        return list(self._entry_points())

    # -- objects -------------------------------------------------------------
    def get(self, name: str) -> T:
        if name in self._loaded:
            return self._loaded[name]
        if name in self.builtins():
            spec = self.builtins()[name]
        elif name in self._entry_points():
            ep = self._entry_points()[name]
            try:
                spec = ep.load()
                if not isinstance(spec, self.spec_type) and callable(spec):
                    spec = spec()
            except Exception as exc:  # noqa: BLE001 - a broken plugin is the user's to fix
                raise PluginError(f"{self.kind} plugin {name!r} ({ep.value}) cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}") from None
            if not isinstance(spec, self.spec_type):
                raise PluginError(f"{self.kind} plugin {name!r} ({ep.value}) is not a "
                                  f"{self.spec_type.__name__}")
            if getattr(spec, "name", name) != name:
                raise PluginError(f"{self.kind} plugin {name!r} ({ep.value}) calls itself "
                                  f"{getattr(spec, 'name', None)!r}; the entry point name must match")
        else:
            raise PluginError(f"unknown {self.kind} {name!r} (choose from {', '.join(self.names())})")
        self._loaded[name] = spec
        return spec

    def reset(self) -> None:
        """Forget plugins found so far (tests that install one on sys.path)."""
        self._eps = None
        self._loaded.clear()
