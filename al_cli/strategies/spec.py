"""One strategy spec for ``al query``, ``al simulate``, al.yaml and queue.csv.

Text form: ``BASE[+MOD...]`` with BASE a registered base score and MODs

- ``kmeans`` | ``kcenter`` | ``none``  batch diversity;
- ``density`` or ``densityW``         weight by representativeness^W (W = 1 when bare);
- ``rfX``                             share X of each batch drawn at random;
- ``cost=learned`` | ``cost=column:NAME``  divide by the labeling cost.

Modifiers left out take the defaults of a new project (no diversity, no density, 10%
random, no cost). :meth:`QuerySpec.format` writes exactly the settings that differ from
those defaults (the canonical spelling: ``margin`` is margin with 10% random, ``margin+rf0``
without), so ``QuerySpec.parse(spec.format()) == spec``. queue.csv, ``al query --json``
and ``al simulate``'s results all use this spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from al_cli.errors import ConfigError
from al_cli.strategies.registry import DIVERSITY, STRATEGIES

DEFAULT_BASE = "auto"
DEFAULT_RANDOM_FRACTION = 0.1
_NUM = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


def _quote(name: str) -> str:
    return name.replace("%", "%25").replace("+", "%2B")


def _unquote(name: str) -> str:
    return name.replace("%2B", "+").replace("%2b", "+").replace("%25", "%")


@dataclass(frozen=True)
class QuerySpec:
    base: str = DEFAULT_BASE
    diversity: str = "none"
    density: float | None = None         # representativeness weight; None: off
    random_fraction: float = DEFAULT_RANDOM_FRACTION
    cost_column: str | None = None
    cost_learned: bool = False

    # -- checks --------------------------------------------------------------
    def validate(self, where: str = "--strategy") -> "QuerySpec":
        if self.base not in STRATEGIES:
            raise ConfigError(f"{where}: unknown strategy {self.base!r} (choose from "
                              f"{', '.join(STRATEGIES.names())})")
        if self.diversity not in DIVERSITY:
            raise ConfigError(f"{where}: diversity must be one of {', '.join(DIVERSITY)} "
                              f"(got {self.diversity!r})")
        if not 0 <= self.random_fraction < 1:
            raise ConfigError(f"{where}: random fraction {self.random_fraction:g} must be in [0, 1)")
        if self.density is not None and not self.density >= 0:
            raise ConfigError(f"{where}: density weight {self.density:g} must be >= 0")
        if self.cost_learned and self.cost_column:
            return replace(self, cost_learned=False)  # a cost column wins over a learned cost
        return self

    # -- text ----------------------------------------------------------------
    def format(self) -> str:
        parts = [self.base]
        if self.diversity != "none":
            parts.append(self.diversity)
        if self.density is not None:
            parts.append("density" if self.density == 1 else f"density{self.density:g}")
        if self.random_fraction != DEFAULT_RANDOM_FRACTION:
            parts.append(f"rf{self.random_fraction:g}")
        if self.cost_learned:
            parts.append("cost=learned")
        elif self.cost_column is not None:
            parts.append(f"cost=column:{_quote(self.cost_column)}")
        return "+".join(parts)

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def parse(cls, text: str, where: str = "--strategy", start: "QuerySpec | None" = None) -> "QuerySpec":
        """``entropy``, ``margin+kcenter``, ``entropy+rf0``, ``qbc_kl+kmeans+density0.5+rf0.2``.

        Modifiers left out take ``start``'s settings (``al query``: al.yaml's), else a new
        project's defaults."""
        raw = str(text).strip()
        parts = [p.strip() for p in raw.split("+")]
        spec = replace(start, base=parts[0]) if start is not None else cls(base=parts[0])
        if spec.base not in STRATEGIES:
            raise ConfigError(f"{where}: unknown strategy {spec.base!r} (choose from "
                              f"{', '.join(STRATEGIES.names())}, with optional +kmeans, +kcenter, "
                              "+density, +rfX modifiers)")
        for mod in parts[1:]:
            if mod in DIVERSITY:
                spec = replace(spec, diversity=mod)
                continue
            m = re.fullmatch(r"rf" + _NUM, mod)
            if m:
                spec = replace(spec, random_fraction=float(mod[2:]))
                continue
            m = re.fullmatch(r"density(" + _NUM + r")?", mod)
            if m:
                spec = replace(spec, density=float(mod[7:]) if mod[7:] else 1.0)
                continue
            if mod == "cost=learned":
                spec = replace(spec, cost_learned=True, cost_column=None)
                continue
            if mod.startswith("cost=column:") and len(mod) > len("cost=column:"):
                spec = replace(spec, cost_column=_unquote(mod[len("cost=column:"):]), cost_learned=False)
                continue
            raise ConfigError(f"{where} {raw}: unknown modifier {mod!r} (kmeans, kcenter, none, "
                              "density[W], rfX, cost=learned, cost=column:NAME)")
        return spec.validate(f"{where} {raw}")

    # -- al.yaml -------------------------------------------------------------
    @classmethod
    def from_config(cls, sc) -> "QuerySpec":
        """The spec al.yaml's ``strategy:`` section describes."""
        return cls(base=sc.name, diversity=sc.diversity,
                   density=float(sc.density_weight) if sc.density else None,
                   random_fraction=float(sc.random_fraction), cost_column=sc.cost_column,
                   cost_learned=sc.cost == "learned" and not sc.cost_column)

    def apply(self, sc) -> None:
        """Write this spec into al.yaml's ``strategy:`` section (a StrategyConfig)."""
        sc.name, sc.diversity, sc.random_fraction = self.base, self.diversity, self.random_fraction
        sc.density = self.density is not None
        sc.density_weight = self.density if self.density is not None else 1.0
        sc.cost_column = self.cost_column
        sc.cost = "learned" if self.cost_learned else None

    def with_options(self, *, base: str | None = None, diversity: str | None = None,
                     density: float | None = None, random_fraction: float | None = None,
                     cost_column: str | None = None, cost: str | None = None) -> "QuerySpec":
        """Command-line options over this spec (``--density 0`` turns density off)."""
        s = self
        if base is not None:
            s = replace(s, base=base)
        if diversity is not None:
            s = replace(s, diversity=diversity)
        if density is not None:
            s = replace(s, density=density or None)
        if random_fraction is not None:
            s = replace(s, random_fraction=random_fraction)
        if cost_column is not None:
            s = replace(s, cost_column=cost_column, cost_learned=False)
        if cost is not None:
            if cost != "learned":
                raise ConfigError("--cost must be 'learned'")
            s = replace(s, cost_learned=True)
        return s.validate("--strategy")
