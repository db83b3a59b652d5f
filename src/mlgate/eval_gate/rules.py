"""The eval gate's rules (pure): each configured rule as a `RuleCheck`, every failure kept, and the
verdict. Segment reports are computed here too (the gap rule judges them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlgate.eval_gate.bootstrap import Interval
from mlgate.eval_gate.config import Change, MetricRule, SegmentRule
from mlgate.eval_gate.metrics import Metric

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


@dataclass
class RuleCheck:
    subject: str
    rule: str
    #: True pass, False fail, None skipped (no baseline, not enough data)
    passed: bool | None
    reason: str = ""
    detail: str = ""


def fmt(value: float | None, digits: int = 4) -> str:
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
                f"{who} {fmt(value)} {'meets' if ok else 'misses'} {better} {t:g}",
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
        detail = f"change {sign * (candidate - baseline):+.4f} (improvement) vs baseline {fmt(baseline)}"
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
