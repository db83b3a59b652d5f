"""The eval gate's metrics: each as a plain function, a resample-weighted one (many bootstrap resamples
at once) and, for the known metrics, from the counts the bootstrap tallies per resample."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlgate.eval_gate.config import AT_K, KNOWN_METRICS, MetricRule, base_metric
from mlgate.gate import GateInputError


@dataclass(frozen=True)
class Metric:
    """One metric as the gate computes it: a plain function and, when possible, a resample-weighted one."""

    name: str
    greater_is_better: bool
    #: (y_true, y_score) -> value
    value: Callable[[Any, Any], float]
    #: (y_true, y_score, counts[m, n]) -> values[m]: the metric on m bootstrap resamples at once
    weighted: Callable[[Any, Any, Any], Any] | None = None
    #: what the bootstrap counts per resample for this metric (metrics with equal keys share the counts):
    #: ("curve",) ranking metrics, ("confusion", threshold) decision metrics, ("error", squared) MAE/RMSE;
    #: None: `weighted` on per-row counts, or else `value` on every resample's rows
    tally: tuple[Any, ...] | None = None
    #: the tally's per-resample statistics of one model -> values[m]
    from_tally: Callable[[Any], Any] | None = None


def _div(num: Any, den: Any) -> Any:
    import numpy as np

    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _curve_points(y: Any, s: Any, w: Any) -> tuple[Any, Any]:
    """Cumulative weighted true/false positives at each distinct score, highest score first.

    One full-width cumulative sum (of all weights); true positives are summed over the positive rows
    only (usually a small share) and false positives are the difference.
    """
    import numpy as np

    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    wo = np.atleast_2d(w)[:, order].astype(float)
    bounds = np.r_[np.nonzero(np.diff(ss))[0], ys.size - 1]
    seen = np.cumsum(wo, axis=1)[:, bounds]
    positives = np.nonzero(ys)[0]
    cum_pos = np.hstack([np.zeros((wo.shape[0], 1)), np.cumsum(wo[:, positives], axis=1)])
    tps = cum_pos[:, np.searchsorted(positives, bounds, side="right")]
    return tps, seen - tps


def _roc_auc_w(y: Any, s: Any, w: Any) -> Any:
    import numpy as np

    tps, fps = _curve_points(y, s, w)
    zeros = np.zeros((tps.shape[0], 1))
    tpr = _div(np.hstack([zeros, tps]), tps[:, -1:])
    fpr = _div(np.hstack([zeros, fps]), fps[:, -1:])
    return np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)


def _pr_auc_w(y: Any, s: Any, w: Any) -> Any:
    """Average precision exactly as scikit-learn defines it: Σ (R_k - R_{k-1}) · P_k."""
    import numpy as np

    tps, fps = _curve_points(y, s, w)
    precision = np.nan_to_num(_div(tps, tps + fps), nan=0.0)
    recall = _div(tps, tps[:, -1:])
    d_recall = np.diff(np.hstack([np.zeros((tps.shape[0], 1)), recall]), axis=1)
    return np.sum(d_recall * precision, axis=1)


def _rowdot(w: Any, v: Any) -> Any:
    """w @ v without BLAS: on shared CI runners multi-threaded BLAS on these thin products is ~8x slower
    than a single-threaded einsum (threads contend for the cores the model inference also uses)."""
    import numpy as np

    return np.einsum("ij,j->i", w, v)


def _confusion_w(y: Any, s: Any, w: Any, threshold: float) -> tuple[Any, Any, Any, Any]:
    import numpy as np

    w = np.atleast_2d(w).astype(float)
    pred = (s >= threshold).astype(float)
    tp = _rowdot(w, pred * y)
    pp = _rowdot(w, pred)
    pos = _rowdot(w, y)
    correct = _rowdot(w, (pred == y).astype(float))
    return tp, pp, pos, correct


def _from_confusion(metric: str, counts: tuple[Any, ...]) -> Any:
    """A decision metric from (weighted) counts: true positives, predicted positives, positives, correct
    decisions, rows."""
    import numpy as np

    tp, pp, pos, correct, total = counts

    if metric == "precision":
        return np.nan_to_num(_div(tp, pp), nan=0.0)  # no positive prediction: 0, as scikit-learn
    if metric == "recall":
        return _div(tp, pos)
    if metric == "f1":
        return np.nan_to_num(_div(2 * tp, pp + pos), nan=0.0)
    return _div(correct, total)


def _at_k(y: Any, s: Any, k: int, which: str) -> float:
    import numpy as np

    order = np.argsort(-s, kind="mergesort")[:k]
    hits = float(np.sum(y[order]))
    if which == "precision":
        return float(hits / min(k, y.size))
    total = float(np.sum(y))
    return hits / total if total else math.nan


def _single(weighted: Callable[[Any, Any, Any], Any]) -> Callable[[Any, Any], float]:
    import numpy as np

    def value(y: Any, s: Any) -> float:
        return float(weighted(y, s, np.ones((1, y.size)))[0])

    return value


@dataclass(frozen=True)
class CurveCounts:
    """Resampled counts at each distinct score u_1 > … > u_K of the positive rows: arrays (m, K)."""

    positives: Any  #: positive rows with score u_k
    ties: Any  #: negative rows with score u_k
    tps: Any  #: positive rows with score ≥ u_k
    fps: Any  #: negative rows with score ≥ u_k
    n_pos: Any  #: (m,) all positive rows
    n_neg: Any  #: (m,) all negative rows


def _roc_auc_curve(c: CurveCounts) -> Any:
    """ROC AUC as the Mann-Whitney statistic, P(positive scores above negative) + ½ P(tie): exactly the
    area under scikit-learn's trapezoidal ROC curve (ties included), from counts at positive scores."""
    import numpy as np

    below = c.n_neg[:, None] - c.fps  # negatives strictly below u_k
    return _div(np.sum(c.positives * (below + 0.5 * c.ties), axis=1), c.n_pos * c.n_neg)


def _pr_auc_curve(c: CurveCounts) -> Any:
    """Average precision Σ_k (R_k - R_{k-1}) P_k; recall moves only at the positive scores u_k."""
    import numpy as np

    precision = _div(c.tps, c.tps + c.fps)
    terms = np.where(c.positives > 0, c.positives * precision, 0.0)
    return _div(terms.sum(axis=1), c.n_pos)


def build_metric(name: str, rule: MetricRule, *, decision_threshold: float) -> Metric:
    """The computable metric for a configured name (known metric or `pkg.mod:func`)."""
    import numpy as np

    if rule.function:
        func = import_metric_function(rule.function, name)
        gib_custom = bool(rule.greater_is_better)  # required for custom metrics by the config model

        def custom(y: Any, s: Any) -> float:
            return float(func(y, s))

        return Metric(name, gib_custom, custom)

    base = base_metric(name)
    gib = KNOWN_METRICS[base][1] if base else True
    t = decision_threshold
    weighted: Callable[[Any, Any, Any], Any]
    tally: tuple[Any, ...]
    from_tally: Callable[[Any], Any]
    if base in ("precision", "recall", "f1", "accuracy"):

        def weighted(y: Any, s: Any, w: Any, _m: str = base) -> Any:
            tp, pp, pos, correct = _confusion_w(y, s, w, t)
            return _from_confusion(_m, (tp, pp, pos, correct, np.atleast_2d(w).sum(axis=1)))

        def from_tally(stats: Any, _m: str = base) -> Any:
            return _from_confusion(_m, stats)

        tally = ("confusion", t)
    elif base in ("roc_auc", "pr_auc"):
        weighted = _roc_auc_w if base == "roc_auc" else _pr_auc_w
        from_tally = _roc_auc_curve if base == "roc_auc" else _pr_auc_curve
        tally = ("curve",)
    elif base in ("mae", "rmse"):

        def weighted(y: Any, s: Any, w: Any, _m: str = base) -> Any:
            w = np.atleast_2d(w).astype(float)
            n = w.sum(axis=1)
            if _m == "mae":
                return _rowdot(w, np.abs(y - s)) / n
            return np.sqrt(_rowdot(w, (y - s) ** 2) / n)

        from_tally = np.sqrt if base == "rmse" else np.asarray
        tally = ("error", base == "rmse")
    else:  # precision@k / recall@k: no weighted form, the bootstrap loops over resampled rows
        match = AT_K.match(name)
        which, k = (match.group(1), int(match.group(2))) if match else ("precision", 1)

        def at_k(y: Any, s: Any) -> float:
            return _at_k(y, s, k, which)

        return Metric(name, gib, at_k)
    return Metric(
        name,
        gib if rule.greater_is_better is None else rule.greater_is_better,
        _single(weighted),
        weighted,
        tally,
        from_tally,
    )


def import_metric_function(path: str, name: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise GateInputError(
            f"cannot import {path!r} ({exc})",
            field=f"eval.metrics.{name}.function",
            fix="use `package.module:function` importable from the project environment",
        ) from None
    if not callable(func):
        raise GateInputError(
            f"{path!r} is not callable",
            field=f"eval.metrics.{name}.function",
            fix="point at a function f(y_true, y_score) -> float",
        )
    return func  # type: ignore[no-any-return]
