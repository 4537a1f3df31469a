"""Stopping rules as objects: each looks at the learning curve and says whether to stop.

A :class:`StopRule` is registered by name (entry point group ``al_cli.stopping``) and
built from the options ``al evaluate`` was given: ``target`` (``--stop-at``), ``min_gain``
(``--min-gain``, ``--patience``), ``max_minutes_per_point`` (``--max-minutes-per-point``)
``stable_predictions`` (``--stable-kappa``, Bloodgood & Vijay-Shanker 2009) and, in discovery,
``recall`` (``--stop-at-recall``).
``al evaluate`` stops when any rule given says so (exit 0), and exits 3 while none does.
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
    minutes: list[float] | None = None       # labeling minutes behind each curve point
    kappas: list[float | None] | None = None  # each point's agreement with the model before it
    recall: dict[str, Any] | None = None     # discovery: where the recall sample test / estimate stands


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


def minutes_per_point(state: CurveState, patience: int) -> float | None:
    """Minutes of labeling per point (0.01) of the metric gained over the last ``patience``
    evaluations; inf when nothing was gained; None without enough points or timed answers."""
    curve, minutes = state.curve, state.minutes
    if not minutes or len(curve) <= patience or len(minutes) != len(curve):
        return None
    dm = minutes[-1] - minutes[-1 - patience]
    if dm <= 0:
        return None
    points = 100 * (curve[-1][state.metric] - curve[-1 - patience][state.metric])
    return float("inf") if points <= 0 else dm / points


def max_minutes_per_point(state: CurveState, options: dict[str, Any]) -> tuple[bool, str | None]:
    limit, patience = options["max_minutes_per_point"], int(options.get("patience") or 3)
    mpp = minutes_per_point(state, patience)
    if mpp is None or mpp <= limit:
        return False, None
    if mpp == float("inf"):
        spent = state.minutes[-1] - state.minutes[-1 - patience]
        return True, (f"{state.metric} did not improve over the last {patience} evaluations "
                      f"({spent:.1f} minutes of labeling)")
    return True, f"{mpp:.1f} minutes of labeling per point of {state.metric} over the last {patience} evaluations (> {limit:g})"


def stable_predictions(state: CurveState, options: dict[str, Any]) -> tuple[bool, str | None]:
    threshold, patience = options["stable_kappa"], int(options.get("patience") or 3)
    kappas = state.kappas or []
    last = kappas[-patience:]
    if len(last) < patience or any(k is None or k < threshold for k in last):
        return False, None
    return True, (f"predictions on the stop set agreed with the previous model's at kappa >= "
                  f"{threshold:g} for {patience} evaluations (last {last[-1]:.4f})")


def recall_reached(state: CurveState, options: dict[str, Any]) -> tuple[bool, str | None]:
    """Discovery: with a recall sample, the sample test (Callaghan & Müller-Hansen 2020)
    at ``--confidence``; without one, the lower end of the Quant estimate's 95% interval
    (a model-based estimate, no guarantee)."""
    goal, r = options["stop_at_recall"], state.recall or {}
    rs = r.get("recall_sample")
    if rs:
        if rs["stop"]:
            return True, (f"the recall sample shows recall >= {goal:g} with {rs['confidence']:.0%} confidence "
                          f"({rs['relevant_in_sample']} relevant in {rs['answered']} sample answers, p = "
                          f"{rs['p_value']:.4f})")
        return False, None
    low = r.get("recall_low")
    if low is not None and low >= goal:
        return True, (f"estimated recall is at least {low:.3f} (Quant, 95% interval; a model-based estimate "
                      f"without a guarantee: 'al query --recall-sample N' tests it)")
    return False, None


def _builtins() -> dict[str, StopRule]:
    items = [
        StopRule("target", "the metric reached --stop-at", ("stop_at",), target),
        StopRule("min_gain", "less than --min-gain per 100 labels over --patience evaluations",
                 ("min_gain",), min_gain),
        StopRule("max_minutes_per_point", "more than --max-minutes-per-point minutes of labeling per "
                 "point of the metric over --patience evaluations", ("max_minutes_per_point",),
                 max_minutes_per_point),
        StopRule("stable_predictions", "successive models agree on a fixed stop set (Cohen's kappa >= "
                 "--stable-kappa) for --patience evaluations", ("stable_kappa",), stable_predictions),
        StopRule("recall", "discovery: recall reached --stop-at-recall (the recall sample's test, else the "
                 "Quant estimate's lower bound)", ("stop_at_recall",), recall_reached),
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
