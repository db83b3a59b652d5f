"""Section `eval` of mlgate.yaml: what `mlgate eval-gate`, `mlgate promote` and `mlgate model-card` read.

Only pydantic models and the names of the known metrics: importing this module never imports numpy,
pandas or MLflow, so `promote` and `model-card` read the section without loading the gate.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mlgate.config import Section, load_section

Task = Literal["classification", "ranking", "regression"]

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
AT_K = re.compile(r"^(precision|recall)@(\d+)$")
#: known metrics whose values lie in [0, 1]: thresholds and absolute changes outside it are refused
BOUNDED_BY_ONE = frozenset(
    {"precision", "recall", "f1", "accuracy", "roc_auc", "pr_auc", "precision@k", "recall@k"}
)


def known_metric_names() -> str:
    return ", ".join(sorted(KNOWN_METRICS))


def base_metric(name: str) -> str | None:
    """`precision@50` → `precision@k`; known names map to themselves; others → None."""
    match = AT_K.match(name)
    if match:
        return f"{match.group(1)}@k"
    return name if name in KNOWN_METRICS and not name.endswith("@k") else None


class GoldenSets(Section):
    """Which golden rows are must-pass scenarios (absolute rules) and which the comparison sample."""

    column: str = Field(
        default="golden_set", description="Golden-dataset column naming the part each row belongs to."
    )
    must_pass: str = Field(
        default="must-pass",
        description="Value of rows every model must get right: thresholds and segment gaps use them.",
    )
    sample: str = Field(
        default="sample",
        description="Value of the representative sample: comparisons with the baseline and intervals.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> GoldenSets:
        if self.must_pass == self.sample:
            raise ValueError("`must_pass` and `sample` must be different values")
        return self


class LatencyRules(Section):
    """Latency measured after warm-up, candidate and baseline interleaved; budgets apply to p95 (ms)."""

    enabled: bool = True
    single_row_p95_ms: float | None = Field(
        default=None, gt=0, description="Budget for one-row predict calls."
    )
    batch_p95_ms: float | None = Field(default=None, gt=0, description="Budget for one batch predict call.")
    max_relative_increase: float | None = Field(
        default=None,
        ge=0,
        description="p95 may exceed the baseline's by at most this fraction (single and batch).",
    )
    clock: Literal["cpu", "wall"] = Field(
        default="cpu",
        description="cpu: the process's CPU time per call (unaffected by other programs on the machine); "
        "wall: elapsed time.",
    )
    rounds: int = Field(
        default=5,
        ge=1,
        le=50,
        description="The calls are split into rounds; the median of the rounds' p95 (and ratios) is judged.",
    )
    confirm: bool = Field(
        default=True, description="Measure again before failing; fail only when the confirmation fails too."
    )
    warmup: int = Field(default=10, ge=0, description="Untimed calls per model before measuring.")
    single_row_calls: int = Field(default=200, ge=10)
    batch_calls: int = Field(default=20, ge=3)
    batch_size: int = Field(default=256, ge=2)
    max_seconds: float = Field(
        default=120,
        gt=0,
        description="Time budget for the timed calls of one measurement (half single-row, half batch).",
    )


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
