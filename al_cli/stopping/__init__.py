"""Stopping rules as objects: each looks at the learning curve and says whether to stop.

A :class:`StopRule` is registered by name (entry point group ``al_cli.stopping``) and
built from the options ``al evaluate`` was given: ``target`` (``--stop-at``) and
``min_gain`` (``--min-gain``, ``--patience``). ``al evaluate`` stops when any rule given
says so (exit 0), and exits 3 while none does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from al_cli.registry import Registry, resolve


@dataclass
class CurveState:
    """What a rule sees: the metric and the learning curve on one evaluation set."""

    metric: str                       # "accuracy" | "macro_f1"
    value: float                      # the latest model's value of ``metric``
    curve: list[dict[str, Any]]       # [{model_version, n_labeled, accuracy, macro_f1}, ...]


@dataclass(frozen=True)
class StopRule:
    name: str
    description: str
    options: tuple[str, ...]                                   # evaluate options it reads
    check: Callable[[CurveState, dict[str, Any]], tuple[bool, str | None]] | str

    def applies(self, options: dict[str, Any]) -> bool:
        return any(options.get(o) is not None for o in self.options)

    def decide(self, state: CurveState, options: dict[str, Any]) -> tuple[bool, str | None]:
        return resolve(self.check)(state, options)


def target(state: CurveState, options: dict[str, Any]) -> tuple[bool, str | None]:
    goal = options["stop_at"]
    if state.value >= goal:
        return True, f"{state.metric} {state.value:.4f} reached the target {goal:g}"
    return False, None


def min_gain(state: CurveState, options: dict[str, Any]) -> tuple[bool, str | None]:
    g, patience = options["min_gain"], int(options.get("patience") or 3)
    curve = state.curve
    if len(curve) <= patience:
        return False, None
    a, b = curve[-1 - patience], curve[-1]
    dn = b["n_labeled"] - a["n_labeled"]
    if dn <= 0:
        return False, None
    gain = (b[state.metric] - a[state.metric]) / dn * 100
    if gain < g:
        return True, (f"{state.metric} gained {gain:+.4f} per 100 labels over the last "
                      f"{patience} evaluations (< {g:g})")
    return False, None


def _builtins() -> dict[str, StopRule]:
    items = [
        StopRule("target", "the metric reached --stop-at", ("stop_at",), target),
        StopRule("min_gain", "less than --min-gain per 100 labels over --patience evaluations",
                 ("min_gain",), min_gain),
    ]
    return {r.name: r for r in items}


RULES: Registry[StopRule] = Registry("stopping rule", "al_cli.stopping", StopRule, _builtins)


def decide(state: CurveState, options: dict[str, Any]) -> tuple[bool, str | None, bool]:
    """(stop, reason, any rule given): the first rule that says stop, in registry order."""
    given = False
    for name in RULES.names():
        rule = RULES.get(name)
        if not rule.applies(options):
            continue
        given = True
        stop, reason = rule.decide(state, options)
        if stop:
            return True, reason, True
    return False, None, given
