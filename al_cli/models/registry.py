"""The model registry: estimators with the capabilities they declare.

A :class:`ModelSpec` builds a scikit-learn-style classifier (``fit``, ``predict_proba``,
``classes_``) from ``model.params`` in al.yaml, ``class_weight`` and ``random_state``, and
says what input it takes: sparse matrices or dense only (densified up to
``dense_limit`` columns), non-negative features only; whether class balancing goes
through ``sample_weight``; its ``family`` (strategies that need a kind of model, such as
``egl`` for log-loss linear models, check it); and ``min_per_class`` labels per class
it needs to fit. ``adapt(estimator, y, folds)`` may adjust the estimator to the labels
(e.g. a calibration CV no larger than the rarest class). ``trusted_types`` names the
classes of the fitted model that are not scikit-learn's, so that al may load it back
from its skops file (al refuses every type nobody declared).

No scikit-learn import here: factories import it when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from al_cli.registry import Registry, resolve


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    make: Callable[[dict, Any, int], Any] | str   # (params, class_weight, random_state) -> estimator
    sparse: bool = True
    dense_limit: int | None = None                 # densify sparse input up to this many columns
    nonnegative: bool = False
    balance_by_sample_weight: bool = False
    family: str | None = None
    min_per_class: int = 1
    adapt: Callable[[Any, Any, int | None], Any] | str | None = None
    trusted_types: tuple[str, ...] = ()   # its classes beyond scikit-learn's, "module.Class"

    def build(self, params: dict, class_weight, random_state: int):
        return resolve(self.make)(dict(params), class_weight, random_state)


_M = "al_cli.models.builtin:"


def _builtins() -> dict[str, ModelSpec]:
    items = [
        ModelSpec("logistic_regression", "multinomial logistic regression (lbfgs)", _M + "logistic_regression",
                  family="logistic"),
        ModelSpec("linear_svm", "linear SVM with sigmoid-calibrated probabilities", _M + "linear_svm",
                  min_per_class=2, adapt=_M + "adapt_linear_svm",
                  trusted_types=("sklearn.calibration._CalibratedClassifier",
                                 "sklearn.calibration._SigmoidCalibration")),
        ModelSpec("naive_bayes", "complement naive Bayes (text)", _M + "naive_bayes", nonnegative=True,
                  balance_by_sample_weight=True),
        ModelSpec("random_forest", "random forest, 200 trees", _M + "random_forest",
                  trusted_types=("sklearn.tree._tree.Tree",)),
        ModelSpec("hist_gradient_boosting", "histogram gradient boosting", _M + "hist_gradient_boosting",
                  sparse=False, dense_limit=2_000,
                  trusted_types=("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",)),
        ModelSpec("relevance_lr", "logistic regression weighting the relevant class (discovery default)",
                  _M + "relevance_lr", family="relevance",
                  trusted_types=("al_cli.models.builtin.RelevanceLogistic",)),
    ]
    return {m.name: m for m in items}


MODELS: Registry[ModelSpec] = Registry("model", "al_cli.models", ModelSpec, _builtins)


def names() -> list[str]:
    return MODELS.names()


def get(name: str) -> ModelSpec:
    return MODELS.get(name)
