"""`mlgate eval-gate`: the candidate model against the production model (`champion`) on the golden dataset.

Inputs
    --candidate      MLflow model URI (`runs:/…/model`, `models:/name/3`) or a local MLflow model folder
    --baseline       model URI of the baseline (default: the champion of the registry of record — the
                     `registry` section, mlgate.record: GTO tags + GitHub release, or the MLflow alias)
    --config         mlgate.yaml; section `eval` (metrics, rules, latency, segments, bootstrap, policy)
    --golden-data    override `eval.golden_data` (CSV or Parquet with the label column)
    --report-dir     where `eval-gate.json` and `eval-gate.md` are written

Outputs
    passed, failure-reason, result-digest (sha256 of candidate model + golden data + rules),
    result-path, report-path; a PR comment upserted under `<!-- mlgate:eval-gate:<model> -->`.

What it does
    1. Scores candidate and baseline on the golden dataset; computes each configured metric.
    2. A paired bootstrap (same resampled rows for both models; seeded; resamples configurable) gives a
       confidence interval of every metric delta (candidate - baseline) and of every candidate value.
    3. Latency p50/p95/p99 for single-row and batch prediction (`mlgate.eval_latency`: after warm-up,
       candidate and baseline interleaved in one process, CPU time per call, rounds, a confirmation
       measurement before a latency rule fails).
    4. Per-segment metrics for configured columns and the largest gap between segments.
    5. Every rule is evaluated and every failure reported (not just the first).

Rule semantics (MLflow `MetricThreshold` where they overlap, see docs/guides/model-gates.md)
    threshold           candidate >= threshold (<= when lower is better)      — as MLflow
    min_improvement     absolute: candidate >= baseline + a (<= baseline - a) — MLflow min_absolute_change
                        relative: (candidate - baseline)/|baseline| >= r      — MLflow min_relative_change
                        (a baseline of exactly 0 makes a relative rule "strictly better", as MLflow does)
    max_regression      absolute: candidate >= baseline - a; relative: change/|baseline| >= -r
                        ("may be at most 1 % worse": `max_regression: {relative: 0.01}`) — MLflow has none
    require_ci_lower_bound   min_improvement / max_regression use the lower bound of the bootstrap interval
                        of the improvement instead of the point estimate — MLflow has none
    A metric that is NaN fails every rule it has. No baseline: `no_baseline: absolute-only` (default; change
    rules are skipped and the report says so) or `fail`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click
from pydantic import Field, field_validator, model_validator

from mlgate.config import Section, load_section
from mlgate.eval_golden import GoldenParts, GoldenSets, split_golden
from mlgate.eval_latency import LatencyRules, latency_gate
from mlgate.gate import GateInputError, GateResult, comment_option, config_option, report_dir_option

if TYPE_CHECKING:
    import pandas as pd

    from mlgate.registry import ModelHandle

GATE = "eval-gate"

#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`);
#: the order is the order in which the verdict picks the headline reason
FAILURE_REASONS: dict[str, str] = {
    "metric-threshold": "a metric misses its absolute threshold (or is NaN)",
    "metric-regression": "a metric is worse than the baseline by more than `max_regression`",
    "insufficient-improvement": "a metric does not beat the baseline by `min_improvement`",
    "latency-budget": "p95 latency over its budget (absolute or relative to the baseline)",
    "segment-gap": "the gap between the best and worst segment exceeds `max_gap`",
    "no-baseline": "no champion and `no_baseline: fail`",
    "prediction-error": "a model cannot be loaded, its `predict` raises, or returns NaN or the wrong shape",
    "champion-digest-mismatch": (
        "the downloaded champion's bytes differ from the digest recorded at its promotion: refused"
    ),
    "registry-unreachable": (
        "the registry (git remote, GitHub API or MLflow) did not answer after bounded retries"
    ),
    "invalid-input": (
        "a bad configuration, golden dataset or model reference (one line naming file, field and fix)"
    ),
}

Task = Literal["classification", "ranking", "regression"]

# ---------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------

#: known metric -> (tasks it applies to, greater_is_better)
KNOWN_METRICS: dict[str, tuple[tuple[str, ...], bool]] = {
    "precision": (("classification",), True),
    "recall": (("classification",), True),
    "f1": (("classification",), True),
    "accuracy": (("classification",), True),
    "roc_auc": (("classification", "ranking"), True),
    "pr_auc": (("classification", "ranking"), True),
    "precision@k": (("ranking", "classification"), True),
    "recall@k": (("ranking", "classification"), True),
    "mae": (("regression",), False),
    "rmse": (("regression",), False),
}
_AT_K = re.compile(r"^(precision|recall)@(\d+)$")
#: known metrics whose values lie in [0, 1]: thresholds and absolute changes outside it are refused
BOUNDED_BY_ONE = frozenset(
    {"precision", "recall", "f1", "accuracy", "roc_auc", "pr_auc", "precision@k", "recall@k"}
)


def known_metric_names() -> str:
    return ", ".join(sorted(KNOWN_METRICS))


def base_metric(name: str) -> str | None:
    """`precision@50` → `precision@k`; known names map to themselves; others → None."""
    match = _AT_K.match(name)
    if match:
        return f"{match.group(1)}@k"
    return name if name in KNOWN_METRICS and not name.endswith("@k") else None


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
        match = _AT_K.match(name)
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


# ---------------------------------------------------------------------------------------------------------
# configuration: section `eval` of mlgate.yaml
# ---------------------------------------------------------------------------------------------------------


class Change(Section):
    """A change against the baseline, absolute (metric units) or relative (fraction of |baseline|)."""

    absolute: float | None = Field(default=None, ge=0, description="In metric units, e.g. 0.01.")
    relative: float | None = Field(
        default=None, ge=0, description="Fraction of |baseline|, e.g. 0.01 for 1 %."
    )

    @model_validator(mode="after")
    def _one(self) -> Change:
        if (self.absolute is None) == (self.relative is None):
            raise ValueError("set exactly one of `absolute` or `relative`")
        return self

    def describe(self) -> str:
        return f"{self.relative:.2%} rel." if self.relative is not None else f"{self.absolute:g} abs."


class MetricRule(Section):
    """Rules for one metric. Keys are metric names: a known metric, `precision@K`/`recall@K`, or a custom
    name with `function`."""

    function: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="Custom metric `package.module:function(y_true, y_score) -> float`.",
    )
    greater_is_better: bool | None = Field(
        default=None, description="Inferred for known metrics; required for custom ones."
    )
    threshold: float | None = Field(
        default=None, description="Absolute floor (ceiling when lower is better)."
    )
    min_improvement: Change | None = Field(
        default=None, description="The candidate must beat the baseline by this."
    )
    max_regression: Change | None = Field(
        default=None, description="The candidate may be worse by at most this."
    )
    require_ci_lower_bound: bool = Field(
        default=False,
        description="Judge change rules on the bootstrap interval's lower bound of the improvement.",
    )


class SegmentRule(Section):
    column: str = Field(description="Golden-dataset column whose values define the segments.")
    metric: str = Field(description="A metric configured under `metrics` (or a known one).")
    max_gap: float | None = Field(
        default=None, ge=0, description="Ceiling on max - min of the metric over segments."
    )
    min_rows: int = Field(
        default=20, ge=1, description="Segments with fewer rows are reported but not compared."
    )


class BootstrapConfig(Section):
    resamples: int = Field(default=1000, ge=50, le=100_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 0


class ModelCardText(Section):
    intended_use: str = "Describe who uses the model, for what decision, and what it must not be used for."
    limitations: str = "Describe known weaknesses, segments with lower quality and data it has not seen."


def _check_unit_bounds(name: str, rule: MetricRule) -> None:
    """A metric bounded by 1 cannot have a threshold outside [0, 1] or an absolute change above 1."""
    if rule.threshold is not None and not 0 <= rule.threshold <= 1:
        raise ValueError(f"{name}.threshold {rule.threshold:g} is outside [0, 1], the range of {name}")
    for kind in ("min_improvement", "max_regression"):
        change: Change | None = getattr(rule, kind)
        if change is not None and change.absolute is not None and change.absolute > 1:
            raise ValueError(f"{name}.{kind}.absolute {change.absolute:g} is above 1, the range of {name}")


class EvalSection(Section):
    """Section `eval` of mlgate.yaml: what `mlgate eval-gate`, `promote` and `model-card` use."""

    golden_data: str = Field(
        default="data/golden.csv", description="CSV or Parquet file with features and label."
    )
    label: str = Field(default="label", description="Label column of the golden dataset.")
    task: Task = "classification"
    exclude_columns: list[str] = Field(
        default_factory=list, description="Columns not passed to the model (ids, timestamps)."
    )
    golden_sets: GoldenSets | None = Field(
        default=None,
        description="Must-pass scenarios (absolute rules) vs the representative sample (comparisons); "
        "unset: every rule on every row.",
    )
    model_name: str = Field(default="model", description="Registered model name in the MLflow registry.")
    baseline_alias: str = "champion"
    no_baseline: Literal["absolute-only", "fail"] = Field(
        default="absolute-only",
        description="No champion yet: apply absolute rules only (reported) or fail.",
    )
    decision_threshold: float = Field(
        default=0.5, description="Score at or above which a row is predicted positive."
    )
    metrics: dict[str, MetricRule] = Field(default_factory=lambda: {"roc_auc": MetricRule()})
    latency: LatencyRules = LatencyRules()
    segments: list[SegmentRule] = Field(default_factory=list)
    bootstrap: BootstrapConfig = BootstrapConfig()
    model_card: ModelCardText = ModelCardText()

    @field_validator("metrics")
    @classmethod
    def _known(cls, metrics: dict[str, MetricRule]) -> dict[str, MetricRule]:
        if not metrics:
            raise ValueError("configure at least one metric")
        for name, rule in metrics.items():
            if rule.function is None and base_metric(name) is None:
                raise ValueError(
                    f"unknown metric {name!r}: use one of {known_metric_names()} "
                    "(precision@K/recall@K with a number) or give `function` for a custom metric"
                )
            if rule.function is not None and rule.greater_is_better is None:
                raise ValueError(f"custom metric {name!r} needs `greater_is_better: true|false`")
            if rule.function is None and base_metric(name) in BOUNDED_BY_ONE:
                _check_unit_bounds(name, rule)
        return metrics

    @model_validator(mode="after")
    def _consistent(self) -> EvalSection:
        for name, rule in self.metrics.items():
            base = base_metric(name)
            if rule.function is None and base and self.task not in KNOWN_METRICS[base][0]:
                raise ValueError(f"metric {name!r} does not apply to task {self.task!r}")
        for seg in self.segments:
            if seg.metric not in self.metrics and base_metric(seg.metric) is None:
                raise ValueError(f"segment metric {seg.metric!r} is neither configured nor known")
            custom = seg.metric in self.metrics and self.metrics[seg.metric].function is not None
            bounded = not custom and base_metric(seg.metric) in BOUNDED_BY_ONE
            if bounded and seg.max_gap is not None and seg.max_gap > 1:
                raise ValueError(f"segment max_gap {seg.max_gap:g} is above 1, the range of {seg.metric}")
        return self


def load_eval_config(path: Path, *, required: bool = False) -> EvalSection:
    """Section `eval`; `required=True` (the eval gate itself) refuses to judge on the defaults alone."""
    return load_section(path, "eval", EvalSection, required=required)


def rules_digest(section: EvalSection) -> str:
    canonical = json.dumps(section.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def combined_digest(model: str, data: str, rules: str) -> str:
    return hashlib.sha256(f"model:{model}\ndata:{data}\nrules:{rules}\n".encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# paired bootstrap
# ---------------------------------------------------------------------------------------------------------


def resample_indices(seed: int, n: int, resamples: int, chunk: int | None = None) -> Iterator[Any]:
    """Row indices of each bootstrap resample, `chunk` resamples at a time (arrays of shape (m, n)).

    n uniform draws with replacement per resample, in one seeded stream: the draws do not depend on
    `chunk` (numpy's generator fills arrays sequentially), so the chunk size is a memory knob only.
    """
    import numpy as np

    if chunk is None:
        chunk = max(1, min(256, (1 << 20) // max(n, 1)))  # ~8 MB of indices per chunk
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        m = min(chunk, resamples - done)
        yield rng.integers(0, n, size=(m, n))
        done += m


def _counts(idx: Any, n: int) -> Any:
    import numpy as np

    m = idx.shape[0]
    flat = (idx + (np.arange(m) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=m * n).reshape(m, n)


def _category_counts(codes: Any, size: int, idx: Any) -> Any:
    """How many of each resample's rows fall in each category: (m, size) from row categories `codes`.

    One bincount per resample: faster than one over the whole chunk (the rows of one resample stay in
    cache) and exact (integer counts)."""
    import numpy as np

    counts = np.empty((idx.shape[0], size), dtype=np.int64)
    for r in range(idx.shape[0]):
        counts[r] = np.bincount(codes.take(idx[r]), minlength=size)
    return counts


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


class _CurveCodes:
    """Rows of one model in 3K+1 categories: with u_1 > … > u_K the distinct scores of positive rows (plus
    any decision thresholds), a row is a positive with score u_k, a negative tied with u_k, or a negative
    strictly between u_k and u_{k+1} (gap 0 above u_1, gap K below u_K). Both curves change shape only
    at positive scores, so counting negatives per gap instead of per score loses nothing; K is at most
    the number of positive rows plus the thresholds, and a decision at threshold t is read off the
    cumulative counts at t."""

    def __init__(self, y: Any, s: Any, thresholds: Sequence[float] = ()) -> None:
        import numpy as np

        u = np.unique(np.concatenate([s[y == 1], np.asarray(thresholds, dtype=float)]))[::-1]
        k = u.size
        above = k - np.searchsorted(u[::-1], s, side="right")  # how many u are strictly greater
        tied = np.zeros(s.size, dtype=bool)
        inside = above < k
        tied[inside] = u[above[inside]] == s[inside]
        codes = np.where(y == 1, above, np.where(tied, k + above, 2 * k + above))
        self.codes = codes.astype(np.intp)
        self.k = k
        #: threshold -> its index k among the u (scores ≥ u_k are predicted positive)
        self.at = {t: int(np.flatnonzero(u == t)[0]) for t in thresholds}

    def counts(self, idx: Any) -> CurveCounts:
        import numpy as np

        k = self.k
        c = _category_counts(self.codes, 3 * k + 1, idx)
        pos, ties, gaps = c[:, :k], c[:, k : 2 * k], c[:, 2 * k :]
        tps = np.cumsum(pos, axis=1)
        fps = np.cumsum(gaps[:, :k] + ties, axis=1)
        return CurveCounts(
            pos.astype(float),
            ties.astype(float),
            tps.astype(float),
            fps.astype(float),
            pos.sum(axis=1).astype(float),
            (ties.sum(axis=1) + gaps.sum(axis=1)).astype(float),
        )

    def confusion(self, c: CurveCounts, t: float) -> tuple[Any, ...]:
        """(true positives, predicted positives, positives, correct, rows) of the decision score ≥ t."""
        tp, fp = c.tps[:, self.at[t]], c.fps[:, self.at[t]]
        return tp, tp + fp, c.n_pos, tp + c.n_neg - fp, c.n_pos + c.n_neg


#: tally key -> one model's statistics per scored model (the candidate first, then the baseline if any)
Tallies = dict[tuple[Any, ...], tuple[Any, ...]]


def _tallies(keys: set[tuple[Any, ...]], y: Any, s_cand: Any, s_base: Any | None) -> Callable[[Any], Tallies]:
    """idx (m, n) -> {tally key: (candidate statistics, baseline statistics if there is a baseline)}.

    Ranking metrics count rows by score rank and label per model (`_CurveCodes`); decision metrics
    share those counts when a ranking metric is configured too (the thresholds are split points),
    otherwise they count one joint category per row — label x candidate decision x baseline decision —
    for both models at once. Each is one bincount per resample and model."""
    import numpy as np

    thresholds = sorted({key[1] for key in keys if key[0] == "confusion"})
    parts: list[Callable[[Any, Tallies], None]] = []
    if ("curve",) in keys:
        codes = [_CurveCodes(y, s, thresholds) for s in (s_cand, s_base) if s is not None]

        def curve(idx: Any, out: Tallies) -> None:
            counts = [c.counts(idx) for c in codes]
            out[("curve",)] = tuple(counts)
            for t in thresholds:
                out[("confusion", t)] = tuple(c.confusion(n, t) for c, n in zip(codes, counts, strict=True))

        parts.append(curve)
    else:
        for t in thresholds:
            pred_b = (s_base >= t) if s_base is not None else np.zeros(y.size, dtype=bool)
            joint = (4 * (y == 1) + 2 * (s_cand >= t) + pred_b).astype(np.intp)

            def confusion(idx: Any, out: Tallies, t: float = t, joint: Any = joint) -> None:
                c = _category_counts(joint, 8, idx)
                cells = np.arange(8)
                label = cells >= 4

                def model(bit: int) -> tuple[Any, ...]:
                    pred = (cells & bit) > 0
                    groups = (pred & label, pred, label, pred == label, cells >= 0)
                    return tuple(c[:, g].sum(axis=1).astype(float) for g in groups)

                out[("confusion", t)] = (model(2), model(1)) if s_base is not None else (model(2),)

            parts.append(confusion)
    for key in keys:
        if key[0] == "error":
            squared = bool(key[1])
            errors = [(y - s) ** 2 if squared else np.abs(y - s) for s in (s_cand, s_base) if s is not None]

            def mean_error(idx: Any, out: Tallies, key: Any = key, errors: Any = errors) -> None:
                out[key] = tuple(np.take(e, idx).mean(axis=1) for e in errors)

            parts.append(mean_error)

    def run(idx: Any) -> Tallies:
        out: Tallies = {}
        for part in parts:
            part(idx, out)
        return out

    return run


@dataclass
class Interval:
    low: float
    high: float


@dataclass
class BootstrapOutcome:
    candidate: Interval
    delta: Interval | None
    #: per-resample deltas (candidate - baseline); kept for tests and benchmarks, not serialised
    deltas: Any = field(default=None, repr=False)


def paired_bootstraps(
    metrics: dict[str, Metric],
    y: Any,
    s_cand: Any,
    s_base: Any | None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    chunk: int | None = None,
) -> dict[str, BootstrapOutcome]:
    """Percentile intervals of each metric of the candidate and of its paired delta (candidate - baseline).

    Every metric and both models see the same resampled rows (`resample_indices(seed, …)`). The metric on
    a resample is computed from how many of its rows fall into a few categories (`Metric.tally`): the
    counts are computed once per resample for all metrics sharing a tally, and cost O(rows) — no sort,
    no float cumulative sum over all rows. Metrics without a tally fall back to per-row resample weights
    (`Metric.weighted`) or to `Metric.value` on every resample's rows."""
    import numpy as np

    n = y.size
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    keys = {m.tally for m in metrics.values() if m.tally is not None and (binary or m.tally[0] == "error")}
    tallies = _tallies(keys, y, s_cand, s_base)
    scores = [s for s in (s_cand, s_base) if s is not None]
    #: metric -> per model (candidate, then baseline) -> the metric on each chunk of resamples
    values: dict[str, list[list[Any]]] = {name: [[] for _ in scores] for name in metrics}
    with np.errstate(all="ignore"):
        for idx in resample_indices(seed, n, resamples, chunk):
            stats = tallies(idx)
            weights = None
            for name, metric in metrics.items():
                if metric.tally in stats and metric.from_tally is not None:
                    chunks = [metric.from_tally(model) for model in stats[metric.tally]]
                elif metric.weighted is not None:
                    weights = _counts(idx, n) if weights is None else weights
                    chunks = [metric.weighted(y, s, weights) for s in scores]
                else:
                    chunks = [np.array([metric.value(y[i], s[i]) for i in idx]) for s in scores]
                for per_model, chunk_values in zip(values[name], chunks, strict=True):
                    per_model.append(chunk_values)
    return {
        name: _percentile_intervals(*per_model, confidence=confidence) for name, per_model in values.items()
    }


def _percentile_intervals(
    cand_vals: list[Any], base_vals: list[Any] | None = None, *, confidence: float
) -> BootstrapOutcome:
    import numpy as np

    alpha = (1 - confidence) / 2
    qs = [100 * alpha, 100 * (1 - alpha)]
    cand = np.concatenate(cand_vals)
    with np.errstate(all="ignore"):
        c_lo, c_hi = np.nanpercentile(cand, qs) if np.isfinite(cand).any() else (math.nan, math.nan)
        if base_vals is None:
            return BootstrapOutcome(Interval(float(c_lo), float(c_hi)), None)
        deltas = cand - np.concatenate(base_vals)
        d_lo, d_hi = np.nanpercentile(deltas, qs) if np.isfinite(deltas).any() else (math.nan, math.nan)
    return BootstrapOutcome(Interval(float(c_lo), float(c_hi)), Interval(float(d_lo), float(d_hi)), deltas)


def paired_bootstrap(
    metric: Metric,
    y: Any,
    s_cand: Any,
    s_base: Any | None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    chunk: int | None = None,
) -> BootstrapOutcome:
    """Percentile intervals of the candidate's metric and of the paired delta (same rows for both models)."""
    return paired_bootstraps(
        {metric.name: metric},
        y,
        s_cand,
        s_base,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        chunk=chunk,
    )[metric.name]


# ---------------------------------------------------------------------------------------------------------
# rules (pure)
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RuleCheck:
    subject: str
    rule: str
    #: True pass, False fail, None skipped (no baseline, not enough data)
    passed: bool | None
    reason: str = ""
    detail: str = ""


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    return f"{value:.{digits}f}"


def judge_metric(
    name: str,
    rule: MetricRule,
    greater_is_better: bool,
    candidate: float,
    baseline: float | None,
    *,
    delta: Interval | None = None,
    confidence: float = 0.95,
    must_pass: float | None = None,
) -> list[RuleCheck]:
    """Every rule configured for one metric, each as a RuleCheck (failures are all kept).

    `candidate`/`baseline` are the values the change rules compare (on the golden sample when the golden
    dataset has parts); `must_pass`, when given, is the candidate's value on the must-pass scenarios,
    which the absolute threshold is judged on."""
    checks: list[RuleCheck] = []
    sign = 1.0 if greater_is_better else -1.0
    better = "≥" if greater_is_better else "≤"
    if rule.threshold is not None:
        t = rule.threshold
        value, who = (candidate, "candidate") if must_pass is None else (must_pass, "must-pass scenarios")
        ok = (value >= t) if greater_is_better else (value <= t)
        checks.append(
            RuleCheck(
                name,
                f"{better} {t:g}",
                bool(ok),
                "" if ok else "metric-threshold",
                f"{who} {_fmt(value)} {'meets' if ok else 'misses'} {better} {t:g}",
            )
        )
    changes = [("min_improvement", rule.min_improvement), ("max_regression", rule.max_regression)]
    for kind, change in changes:
        if change is None:
            continue
        text = (
            f"improves by ≥ {change.describe()}"
            if kind == "min_improvement"
            else f"worse by ≤ {change.describe()}"
        )
        if baseline is None:
            checks.append(RuleCheck(name, text, None, "", "skipped: no baseline"))
            continue
        reason = "insufficient-improvement" if kind == "min_improvement" else "metric-regression"
        if math.isnan(candidate) or math.isnan(baseline):
            checks.append(RuleCheck(name, text, False, reason, "metric is NaN"))
            continue
        ok_point = _change_ok(
            kind, change, sign, candidate=candidate, baseline=baseline, raw_delta=candidate - baseline
        )
        ok = ok_point
        detail = f"change {sign * (candidate - baseline):+.4f} (improvement) vs baseline {_fmt(baseline)}"
        if rule.require_ci_lower_bound:
            if delta is None or math.isnan(delta.low):
                ok = False
                detail += "; no confidence interval available"
            else:
                improvement_low = delta.low if greater_is_better else -delta.high
                ok_ci = _change_ok(
                    kind, change, sign, candidate=None, baseline=baseline, raw_delta=sign * improvement_low
                )
                ok = ok_point and ok_ci
                detail += f"; {confidence:.0%} interval lower bound of improvement {improvement_low:+.4f}"
                if ok_point and not ok_ci:
                    detail += " does not hold (could be noise)"
            text += " (at CI lower bound)"
        checks.append(RuleCheck(name, text, ok, "" if ok else reason, detail))
    return checks


def _change_ok(
    kind: str, change: Change, sign: float, *, candidate: float | None, baseline: float, raw_delta: float
) -> bool:
    """The comparison for one change rule. With a point estimate (`candidate` given) the absolute form is
    written exactly as MLflow writes it (candidate ≥ baseline + a), so float rounding matches too."""
    improvement = sign * raw_delta
    if change.absolute is not None:
        a = change.absolute if kind == "min_improvement" else -change.absolute
        if candidate is not None:
            return candidate >= baseline + a if sign > 0 else candidate <= baseline - a
        return improvement >= a
    r = change.relative if change.relative is not None else 0.0
    if baseline == 0:
        # relative change undefined: "must improve" means strictly better (MLflow: by 1e-10),
        # "may regress by r" means not worse
        return improvement >= 1e-10 if kind == "min_improvement" else improvement >= 0
    relative = improvement / abs(baseline)
    return relative >= r if kind == "min_improvement" else relative >= -r


@dataclass
class SegmentReport:
    column: str
    metric: str
    #: segment value -> (rows, candidate metric, baseline metric or None)
    values: dict[str, tuple[int, float, float | None]]
    gap: float
    baseline_gap: float | None
    worst: str
    best: str


def judge_segment(rule: SegmentRule, report: SegmentReport) -> list[RuleCheck]:
    if rule.max_gap is None:
        return []
    subject = f"segments {rule.column}"
    text = f"{rule.metric} gap ≤ {rule.max_gap:g}"
    if math.isnan(report.gap):
        return [
            RuleCheck(
                subject,
                text,
                None,
                "",
                f"skipped: fewer than two segments with ≥ {rule.min_rows} rows and a defined metric",
            )
        ]
    ok = report.gap <= rule.max_gap
    return [
        RuleCheck(
            subject,
            text,
            ok,
            "" if ok else "segment-gap",
            f"gap {report.gap:.4f} between {report.best} and {report.worst}",
        )
    ]


def verdict(checks: Sequence[RuleCheck]) -> tuple[bool, str]:
    failed = [c for c in checks if c.passed is False]
    if not failed:
        return True, ""
    reasons = {c.reason for c in failed}
    return False, next(r for r in FAILURE_REASONS if r in reasons)


# ---------------------------------------------------------------------------------------------------------
# measuring: predictions, latency, segments
# ---------------------------------------------------------------------------------------------------------


def _csv_header(path: Path) -> list[str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def read_golden(path: Path, section: EvalSection) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise GateInputError(
            "golden dataset not found",
            file=path,
            field="eval.golden_data",
            fix="run the data pipeline (`dvc repro`) or fix `eval.golden_data`",
        )
    try:
        frame = pd.read_parquet(path) if path.suffix in {".parquet", ".pq"} else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same input error
        raise GateInputError(
            f"cannot be read ({type(exc).__name__})", file=path, fix="write CSV with a header row, or Parquet"
        ) from None
    # pandas renames a repeated CSV header (`amount`, `amount.1`): read the header itself
    names = _csv_header(path) if path.suffix not in {".parquet", ".pq"} else [str(c) for c in frame.columns]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise GateInputError(
            f"column {repeated[0]!r} appears more than once", file=path, fix="give every column a unique name"
        )
    if section.label not in frame.columns:
        raise GateInputError(
            f"label column {section.label!r} is missing",
            file=path,
            field="eval.label",
            fix=f"columns are: {', '.join(map(str, frame.columns[:20]))}",
        )
    if len(frame) < 2:
        raise GateInputError("has fewer than 2 rows", file=path, fix="use a golden dataset with real rows")
    if section.task != "regression":
        labels = set(frame[section.label].dropna().unique().tolist())
        if not labels <= {0, 1} or frame[section.label].isna().any():
            shown = ", ".join(map(repr, sorted(labels, key=str)[:5]))
            raise GateInputError(
                f"label column {section.label!r} must hold 0/1 (or true/false) without gaps; found {shown}",
                file=path,
                field="eval.label",
                fix="encode the positive class as 1 and the rest as 0",
            )
    for seg in section.segments:
        if seg.column not in frame.columns:
            raise GateInputError(
                f"segment column {seg.column!r} is missing",
                file=path,
                field="eval.segments",
                fix="add the column or remove the segment rule",
            )
    split_golden(frame, section.golden_sets, path)  # fail fast on a bad golden-set column
    return frame


def features_for(
    frame: pd.DataFrame, section: EvalSection, handle: ModelHandle, golden: Path
) -> pd.DataFrame:
    not_features = (section.label, *section.exclude_columns)
    if section.golden_sets is not None:
        not_features = (*not_features, section.golden_sets.column)
    drop = [c for c in not_features if c in frame.columns]
    features = frame.drop(columns=drop)
    if handle.input_names is not None:
        missing = [c for c in handle.input_names if c not in features.columns]
        if missing:
            raise GateInputError(
                f"missing feature column(s) {', '.join(missing)} required by {handle.label}",
                file=golden,
                fix="regenerate the golden dataset with the model's features",
            )
        features = features[handle.input_names]
    return features


def predict_checked(predict: Callable[[Any], Any], features: pd.DataFrame, label: str) -> Any:
    import numpy as np

    try:
        out = predict(features)
    except Exception as exc:  # noqa: BLE001 - whatever the model raises, the gate reports it the same way
        raise GateInputError(
            f"predict raised {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
            file=label,
            fix="run the model on the golden dataset locally",
            reason="prediction-error",
        ) from None
    try:
        scores = np.asarray(out, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise GateInputError(
            "predict returned non-numeric output",
            file=label,
            fix="return one number per row",
            reason="prediction-error",
        ) from None
    if scores.size != len(features):
        raise GateInputError(
            f"predict returned {scores.size} values for {len(features)} rows",
            file=label,
            fix="return one prediction per input row",
            reason="prediction-error",
        )
    if not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).sum())
        raise GateInputError(
            f"predict returned {bad} NaN/inf value(s)",
            file=label,
            fix="check the model's handling of missing values",
            reason="prediction-error",
        )
    return scores


def segment_report(
    rule: SegmentRule, metric: Metric, column: Any, y: Any, s_cand: Any, *, s_base: Any | None
) -> SegmentReport:
    import numpy as np

    values: dict[str, tuple[int, float, float | None]] = {}
    keys = np.asarray(column).astype(str)
    for value in sorted(set(np.unique(keys).tolist())):
        mask = keys == value
        rows = int(mask.sum())
        with np.errstate(all="ignore"):
            cand = metric.value(y[mask], s_cand[mask])
            base = metric.value(y[mask], s_base[mask]) if s_base is not None else None
        values[value] = (rows, cand, base)

    def gap(index: int) -> tuple[float, str, str]:
        eligible: dict[str, float] = {}
        for key, entry in values.items():
            value = entry[index]
            if entry[0] >= rule.min_rows and value is not None and not math.isnan(float(value)):
                eligible[key] = float(value)
        if len(eligible) < 2:
            return math.nan, "", ""
        best = max(eligible, key=lambda k: eligible[k])
        worst = min(eligible, key=lambda k: eligible[k])
        return eligible[best] - eligible[worst], best, worst

    cand_gap, best, worst = gap(1)
    base_gap = gap(2)[0] if s_base is not None else None
    if not metric.greater_is_better:
        best, worst = worst, best
    return SegmentReport(rule.column, rule.metric, values, cand_gap, base_gap, worst, best)


# ---------------------------------------------------------------------------------------------------------
# the gate
# ---------------------------------------------------------------------------------------------------------


@dataclass
class MetricRow:
    name: str
    greater_is_better: bool
    #: candidate and baseline on the comparison rows (the golden sample, or every row)
    candidate: float
    baseline: float | None
    candidate_interval: Interval
    delta_interval: Interval | None
    #: the candidate on the must-pass scenarios (None when the golden dataset has no parts)
    must_pass: float | None = None


@dataclass
class EvalOutcome:
    """Everything measured; `result()` turns it into the GateResult."""

    section: EvalSection
    candidate_label: str
    baseline_label: str | None
    rows: int
    parts: GoldenParts
    metrics: list[MetricRow]
    checks: list[RuleCheck]
    latency: dict[str, dict[str, dict[str, float]]]
    segments: list[SegmentReport]
    digest: dict[str, str]
    candidate_ref: str
    candidate_version: dict[str, str | None]

    def result(self) -> GateResult:
        passed, reason = verdict(self.checks)
        return GateResult(
            gate=GATE,
            passed=passed,
            failure_reason=reason,
            summary_md=render_summary(self, passed),
            details_md=render_details(self),
            data={
                "candidate": {
                    "ref": self.candidate_ref,
                    "label": self.candidate_label,
                    **self.candidate_version,
                },
                "baseline": self.baseline_label,
                "no_baseline_policy": self.section.no_baseline if self.baseline_label is None else None,
                "rows": self.rows,
                "golden_sets": (
                    {"must_pass": self.parts.must_pass_rows, "sample": self.parts.sample_rows}
                    if self.parts.configured
                    else None
                ),
                "metrics": [asdict(m) for m in self.metrics],
                "checks": [asdict(c) for c in self.checks],
                "latency_ms": self.latency,
                "segments": [asdict(s) for s in self.segments],
                "bootstrap": self.section.bootstrap.model_dump(),
                "digest": self.digest,
            },
            outputs={"result-digest": self.digest["combined"]},
        )


def evaluate(
    section: EvalSection,
    *,
    golden: Path,
    candidate: ModelHandle,
    baseline: ModelHandle | None,
    frame: pd.DataFrame | None = None,
) -> EvalOutcome:
    """Score both models, bootstrap, time, segment and judge. The models are already opened; `frame` is
    the golden dataset when the caller has read it already (`read_golden`)."""
    import numpy as np

    from mlgate.registry import file_digest, load_predictor

    if frame is None:
        frame = read_golden(golden, section)
    y = frame[section.label].to_numpy(dtype=float)
    want_scores = section.task != "regression"
    models: dict[str, ModelHandle] = {"candidate": candidate}
    if baseline is not None:
        models["baseline"] = baseline
    features = {k: features_for(frame, section, h, golden) for k, h in models.items()}
    predictors = {k: load_predictor(h, want_scores=want_scores) for k, h in models.items()}
    scores = {k: predict_checked(predictors[k], features[k], models[k].label) for k in models}
    parts = split_golden(frame, section.golden_sets, golden)
    # comparisons and intervals on the sample; absolute rules on the must-pass scenarios
    cmp, must = parts.sample, parts.must_pass
    s_cand, s_base = scores["candidate"][cmp], (scores["baseline"][cmp] if "baseline" in scores else None)
    y_all, y = y, y[cmp]

    built = {
        name: build_metric(name, rule, decision_threshold=section.decision_threshold)
        for name, rule in section.metrics.items()
    }
    rows: list[MetricRow] = []
    checks: list[RuleCheck] = []
    if baseline is None and section.no_baseline == "fail":
        checks.append(
            RuleCheck(
                "baseline",
                f"alias {section.baseline_alias!r} exists",
                False,
                "no-baseline",
                "no baseline model and `no_baseline: fail`",
            )
        )
    boot = section.bootstrap
    # one pass over the resamples for all metrics: same resampled rows, counts shared between metrics
    intervals = paired_bootstraps(
        built, y, s_cand, s_base, resamples=boot.resamples, confidence=boot.confidence, seed=boot.seed
    )
    for name, metric in built.items():
        with np.errstate(all="ignore"):
            cand_value = metric.value(y, s_cand)
            base_value = metric.value(y, s_base) if s_base is not None else None
            must_value = metric.value(y_all[must], scores["candidate"][must]) if parts.configured else None
        outcome = intervals[name]
        rows.append(
            MetricRow(
                name,
                metric.greater_is_better,
                cand_value,
                base_value,
                outcome.candidate,
                outcome.delta,
                must_value,
            )
        )
        checks.extend(
            judge_metric(
                name,
                section.metrics[name],
                metric.greater_is_better,
                cand_value,
                base_value,
                delta=outcome.delta,
                confidence=boot.confidence,
                must_pass=must_value,
            )
        )
        undefined = math.isnan(cand_value) or (must_value is not None and math.isnan(must_value))
        if undefined and not any(c.subject == name and c.passed is False for c in checks):
            checks.append(RuleCheck(name, "is defined", False, "metric-threshold", "candidate metric is NaN"))

    latency: dict[str, dict[str, dict[str, float]]] = {}
    if section.latency.enabled:
        latency, latency_checks = latency_gate(predictors, features["candidate"], section.latency)
        checks.extend(RuleCheck(**asdict(c)) for c in latency_checks)

    segments: list[SegmentReport] = []
    for seg in section.segments:
        metric = built.get(seg.metric) or build_metric(
            seg.metric, MetricRule(), decision_threshold=section.decision_threshold
        )
        # a segment gap is an absolute rule: judged on the must-pass scenarios
        s_base_must = scores["baseline"][must] if "baseline" in scores else None
        column = frame[seg.column].to_numpy()[must]
        report = segment_report(
            seg, metric, column, y_all[must], scores["candidate"][must], s_base=s_base_must
        )
        segments.append(report)
        checks.extend(judge_segment(seg, report))

    model_d, data_d, rules_d = candidate.digest, file_digest(golden), rules_digest(section)
    digest = {
        "model": model_d,
        "data": data_d,
        "rules": rules_d,
        "combined": combined_digest(model_d, data_d, rules_d),
    }
    return EvalOutcome(
        section=section,
        candidate_label=candidate.label,
        baseline_label=baseline.label if baseline is not None else None,
        rows=len(frame),
        parts=parts,
        metrics=rows,
        checks=checks,
        latency=latency,
        segments=segments,
        digest=digest,
        candidate_ref=candidate.ref,
        candidate_version={"name": candidate.name, "version": candidate.version},
    )


# ---------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------


def _interval(iv: Interval | None, signed: bool = False) -> str:
    if iv is None or math.isnan(iv.low):
        return "—"
    f = "{:+.4f}" if signed else "{:.4f}"
    return f"[{f.format(iv.low)}, {f.format(iv.high)}]"


def render_summary(outcome: EvalOutcome, passed: bool) -> str:
    failed = [c for c in outcome.checks if c.passed is False]
    head = "✅ **passed**" if passed else f"❌ **blocked** — {len(failed)} rule(s) failed"
    base = outcome.baseline_label or "none"
    lines = [
        f"### mlgate eval-gate: {head}",
        "",
        f"Candidate **{outcome.candidate_label}** vs baseline **{base}** on {outcome.rows} golden rows"
        + (
            f" ({outcome.parts.must_pass_rows} must-pass scenarios for the absolute rules, "
            f"{outcome.parts.sample_rows} sample rows for the comparisons)."
            if outcome.parts.configured
            else "."
        ),
    ]
    if outcome.baseline_label is None:
        policy = outcome.section.no_baseline
        lines.append(
            f"\n> ⚠️ No baseline: `{outcome.section.model_name}@{outcome.section.baseline_alias}` does not "
            f"exist yet (first model). Policy `no_baseline: {policy}`"
            + (": absolute rules only, comparisons skipped." if policy == "absolute-only" else ": blocked.")
        )
    if failed:
        lines += ["", "Failed rules:"]
        lines += [f"- **{c.subject}** {c.rule}: {c.detail} (`{c.reason}`)" for c in failed]
    lines.append(f"\n<sub>result digest `{outcome.digest['combined'][:16]}…`</sub>")
    return "\n".join(lines)


def render_details(outcome: EvalOutcome) -> str:
    conf = f"{outcome.section.bootstrap.confidence:.0%}"
    parts = outcome.parts.configured
    where = " on the golden sample" if parts else ""
    out = [
        f"#### Metrics{where} ({conf} paired bootstrap intervals, {outcome.section.bootstrap.resamples} "
        "resamples)",
        "",
        ("| metric | must-pass | " if parts else "| metric | ")
        + f"candidate | {conf} CI | baseline | Δ | Δ {conf} CI | rules |",
        ("|---|---:|---:|---|---:|---:|---|---|" if parts else "|---|---:|---|---:|---:|---|---|"),
    ]
    for m in outcome.metrics:
        rules = [c for c in outcome.checks if c.subject == m.name]
        marks = (
            "<br>".join(
                f"{'✅' if c.passed else ('⏭️' if c.passed is None else '❌')} {c.rule}" for c in rules
            )
            or "—"
        )
        delta = _fmt(m.candidate - m.baseline) if m.baseline is not None else "—"
        arrow = "↑" if m.greater_is_better else "↓"
        must = f"{_fmt(m.must_pass)} | " if parts else ""
        out.append(
            f"| {m.name} {arrow} | {must}{_fmt(m.candidate)} | {_interval(m.candidate_interval)} | "
            f"{_fmt(m.baseline)} | {delta} | {_interval(m.delta_interval, signed=True)} | {marks} |"
        )
    if outcome.latency:
        lat_rules = outcome.section.latency
        out += [
            "",
            f"#### Latency ({'CPU ' if lat_rules.clock == 'cpu' else ''}ms per call, after warm-up, "
            f"calls interleaved; p95 = median of {lat_rules.rounds} rounds' p95)",
            "",
            "| model | mode | p50 | p95 | p99 | calls | vs baseline |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for model, modes in outcome.latency.items():
            for mode, p in modes.items():
                ratio = f"{p['ratio']:.2f}x" if "ratio" in p else "—"
                out.append(
                    f"| {model} | {mode.replace('_', '-')} | {p['p50']:.2f} | {p['p95']:.2f} | "
                    f"{p['p99']:.2f} | {int(p['calls'])} | {ratio} |"
                )
        lat = [c for c in outcome.checks if c.subject.startswith("latency")]
        out += [
            f"- {'✅' if c.passed else ('⏭️' if c.passed is None else '❌')} {c.subject} {c.rule}: {c.detail}"
            for c in lat
        ]
    for seg in outcome.segments:
        out += [
            "",
            f"#### Segments by `{seg.column}` ({seg.metric})",
            "",
            "| segment | rows | candidate | baseline |",
            "|---|---:|---:|---:|",
        ]
        for value, (n, cand, base) in seg.values.items():
            out.append(f"| {value} | {n} | {_fmt(cand)} | {_fmt(base)} |")
        out.append(f"\nLargest gap: {_fmt(seg.gap)} (baseline {_fmt(seg.baseline_gap)})")
    d = outcome.digest
    out += [
        "",
        "<details><summary>Digests</summary>",
        "",
        f"- candidate model `{d['model']}`",
        f"- golden data `{d['data']}`",
        f"- rules `{d['rules']}`",
        f"- result `{d['combined']}`",
        "",
        "</details>",
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------
# command
# ---------------------------------------------------------------------------------------------------------


def open_baseline(section: EvalSection, explicit: str | None, config: Path) -> ModelHandle | None:
    """The explicit baseline, else the champion of the registry of record (mlgate.record)."""
    from mlgate.record_backend import open_registry
    from mlgate.registry import open_model

    if explicit:
        return open_model(explicit, field_name="baseline")
    return open_registry(config, model_name=section.model_name, alias=section.baseline_alias).open_champion()


def run(config: Path, candidate: str, baseline: str | None, golden_data: str | None) -> GateResult:
    section = load_eval_config(config, required=True)
    golden = Path(golden_data or section.golden_data)
    frame = read_golden(golden, section)  # fail fast on data problems before loading models
    from mlgate.registry import open_model

    cand = open_model(candidate, field_name="candidate")
    base = open_baseline(section, baseline, config)
    return evaluate(section, golden=golden, candidate=cand, baseline=base, frame=frame).result()


@click.command(GATE)
@click.option(
    "--candidate",
    envvar="MLGATE_CANDIDATE",
    required=True,
    help="Candidate model: MLflow model URI or local MLflow model folder.",
)
@click.option(
    "--baseline",
    envvar="MLGATE_BASELINE",
    default=None,
    help="Baseline model URI (default: models:/<eval.model_name>@<eval.baseline_alias>).",
)
@config_option(dest="config", help="mlgate.yaml with the `eval` section.")
@click.option("--golden-data", envvar="MLGATE_GOLDEN_DATA", default=None, help="Override eval.golden_data.")
@report_dir_option()
@comment_option(True, help="Upsert the report as a PR comment (in a pull request).")
def command(
    *,
    candidate: str,
    baseline: str | None,
    config: Path,
    golden_data: str | None,
    report_dir: Path,
    comment: bool,
) -> int:
    """Compare the candidate with the champion on the golden dataset; block when worse, slower or unfair."""
    from mlgate.gate import finish, run_gate

    def work() -> int:
        result = run(config, candidate, baseline, golden_data)
        key = load_eval_config(config).model_name
        return finish(result, report_dir=report_dir, comment_key=key if comment else None)

    return run_gate(GATE, work)
