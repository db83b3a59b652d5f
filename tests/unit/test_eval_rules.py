"""The eval gate's pure parts: rule semantics (against MLflow's own where they overlap), the paired
bootstrap against an independent computation, latency/segment rules and the `eval` config section."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mlgate.config import load_section
from mlgate.eval_gate.bootstrap import Interval, paired_bootstrap, paired_bootstraps, resample_indices
from mlgate.eval_gate.config import EvalSection, MetricRule, SegmentRule, rules_digest
from mlgate.eval_gate.metrics import Metric, build_metric
from mlgate.eval_gate.rules import RuleCheck, judge_metric, judge_segment, segment_report, verdict
from mlgate.gate import GateInputError


def rule(**kwargs: object) -> MetricRule:
    return MetricRule.model_validate(kwargs)


def failed(checks: list[RuleCheck]) -> list[str]:
    return [c.reason for c in checks if c.passed is False]


# -- rule semantics ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gib", "candidate", "threshold", "ok"),
    [
        (True, 0.80, 0.80, True),
        (True, 0.79, 0.80, False),
        (False, 0.10, 0.10, True),
        (False, 0.11, 0.10, False),
    ],
)
def test_threshold_is_inclusive_and_follows_direction(
    gib: bool, candidate: float, threshold: float, ok: bool
) -> None:
    checks = judge_metric("m", rule(threshold=threshold), gib, candidate, None)
    assert [c.passed for c in checks] == [ok]
    assert failed(checks) == ([] if ok else ["metric-threshold"])


def test_max_regression_relative_allows_at_most_one_percent_worse() -> None:
    r = rule(max_regression={"relative": 0.01})
    assert failed(judge_metric("pr_auc", r, True, 0.7925, 0.80)) == []  # 0.94 % worse
    assert failed(judge_metric("pr_auc", r, True, 0.7910, 0.80)) == ["metric-regression"]  # 1.1 % worse
    # lower is better: an increase is the regression
    assert failed(judge_metric("mae", r, False, 1.0095, 1.0)) == []
    assert failed(judge_metric("mae", r, False, 1.02, 1.0)) == ["metric-regression"]


def test_max_regression_absolute() -> None:
    r = rule(max_regression={"absolute": 0.02})
    assert failed(judge_metric("recall", r, True, 0.79, 0.80)) == []
    assert failed(judge_metric("recall", r, True, 0.77, 0.80)) == ["metric-regression"]


def test_min_improvement_absolute_and_relative() -> None:
    absolute = rule(min_improvement={"absolute": 0.01})
    assert failed(judge_metric("f1", absolute, True, 0.62, 0.60)) == []
    assert failed(judge_metric("f1", absolute, True, 0.605, 0.60)) == ["insufficient-improvement"]
    relative = rule(min_improvement={"relative": 0.03})
    assert failed(judge_metric("f1", relative, True, 0.62, 0.60)) == []  # +3.3 %
    assert failed(judge_metric("f1", relative, True, 0.61, 0.60)) == ["insufficient-improvement"]


def test_zero_baseline_relative_rules() -> None:
    assert failed(judge_metric("m", rule(min_improvement={"relative": 0.5}), True, 0.0, 0.0)) == [
        "insufficient-improvement"
    ]
    assert failed(judge_metric("m", rule(min_improvement={"relative": 0.5}), True, 0.01, 0.0)) == []
    assert failed(judge_metric("m", rule(max_regression={"relative": 0.5}), True, 0.0, 0.0)) == []


def test_ci_lower_bound_turns_noise_into_a_failure() -> None:
    r = rule(min_improvement={"absolute": 0.01}, require_ci_lower_bound=True)
    # point estimate +0.02 passes, but the interval of the delta reaches below zero: could be noise
    checks = judge_metric("roc_auc", r, True, 0.82, 0.80, delta=Interval(-0.01, 0.05))
    assert failed(checks) == ["insufficient-improvement"]
    assert "could be noise" in checks[0].detail
    assert failed(judge_metric("roc_auc", r, True, 0.82, 0.80, delta=Interval(0.015, 0.03))) == []
    # lower is better: the improvement's lower bound is -delta.high
    r_low = rule(max_regression={"absolute": 0.0}, require_ci_lower_bound=True)
    assert failed(judge_metric("mae", r_low, False, 0.9, 1.0, delta=Interval(-0.2, 0.05))) == [
        "metric-regression"
    ]
    assert failed(judge_metric("mae", r_low, False, 0.9, 1.0, delta=Interval(-0.2, -0.01))) == []


def test_every_failed_rule_is_reported_and_nan_fails() -> None:
    r = rule(threshold=0.9, min_improvement={"absolute": 0.1}, max_regression={"relative": 0.0})
    checks = judge_metric("pr_auc", r, True, 0.5, 0.6)
    assert failed(checks) == ["metric-threshold", "insufficient-improvement", "metric-regression"]
    passed, reason = verdict(checks)
    assert (passed, reason) == (False, "metric-threshold")
    nan_checks = judge_metric(
        "pr_auc", rule(threshold=0.1, max_regression={"absolute": 1.0}), True, math.nan, 0.5
    )
    assert failed(nan_checks) == ["metric-threshold", "metric-regression"]


def test_no_baseline_skips_change_rules_but_keeps_absolute_ones() -> None:
    r = rule(threshold=0.5, max_regression={"relative": 0.01})
    checks = judge_metric("pr_auc", r, True, 0.6, None)
    assert [c.passed for c in checks] == [True, None]
    assert "no baseline" in checks[1].detail
    assert verdict(checks) == (True, "")


def test_rules_agree_with_mlflow_metric_threshold() -> None:
    """Where MLflow has the same rule (threshold, min_absolute/relative_change), the verdicts agree."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import MetricThreshold
    from mlflow.models.evaluation.validation import _validate

    values = [-1.5, -0.2, 0.0, 0.2, 0.5, 0.51, 0.55, 0.6, 1.0]
    cases = 0
    for gib, cand, base, (kind, amount) in itertools.product(
        (True, False),
        values,
        values,
        [("threshold", 0.5), ("abs", 0.05), ("rel", 0.1), ("abs", 0.3), ("rel", 0.02)],
    ):
        if kind == "threshold":
            ours = rule(threshold=amount)
            theirs = MetricThreshold(threshold=amount, greater_is_better=gib)
        elif kind == "abs":
            ours = rule(min_improvement={"absolute": amount})
            theirs = MetricThreshold(min_absolute_change=amount, greater_is_better=gib)
        else:
            ours = rule(min_improvement={"relative": amount})
            theirs = MetricThreshold(min_relative_change=amount, greater_is_better=gib)
        our_ok = verdict(judge_metric("m", ours, gib, cand, base))[0]
        try:
            _validate({"m": theirs}, {"m": cand}, {"m": base})
            mlflow_ok = True
        except MlflowException:  # ModelValidationFailedException
            mlflow_ok = False
        assert our_ok == mlflow_ok, (gib, cand, base, kind, amount)
        cases += 1
    assert cases == 2 * 9 * 9 * 5


# -- bootstrap -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy"])
def test_paired_bootstrap_matches_scikit_learn_on_the_same_resamples(name: str) -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(1)
    n = 300
    y = (rng.random(n) < 0.2).astype(float)
    s_c = np.round(np.clip(y * 0.35 + rng.random(n) * 0.7, 0, 1), 2)  # rounded: ties must be handled
    s_b = np.round(np.clip(y * 0.25 + rng.random(n) * 0.75, 0, 1), 2)
    sk = {
        "roc_auc": skm.roc_auc_score,
        "pr_auc": skm.average_precision_score,
        "precision": lambda t, s: skm.precision_score(t, s >= 0.5, zero_division=0),
        "recall": lambda t, s: skm.recall_score(t, s >= 0.5, zero_division=0),
        "f1": lambda t, s: skm.f1_score(t, s >= 0.5, zero_division=0),
        "accuracy": lambda t, s: skm.accuracy_score(t, s >= 0.5),
    }[name]
    metric = build_metric(name, MetricRule(), decision_threshold=0.5)
    assert metric.value(y, s_c) == pytest.approx(sk(y, s_c), abs=1e-12)

    outcome = paired_bootstrap(metric, y, s_c, s_b, resamples=200, confidence=0.9, seed=3)
    independent = np.array(
        [sk(y[i], s_c[i]) - sk(y[i], s_b[i]) for idx in resample_indices(3, n, 200) for i in idx]
    )
    np.testing.assert_allclose(outcome.deltas, independent, atol=1e-12)
    assert outcome.delta is not None
    assert outcome.delta.low == pytest.approx(np.percentile(independent, 5))
    assert outcome.delta.high == pytest.approx(np.percentile(independent, 95))


def _per_row_weights(metric: Metric) -> Metric:
    """The same metric without its tally: the bootstrap falls back to one weight per row and resample."""
    return replace(metric, tally=None, from_tally=None)


@pytest.mark.parametrize(
    ("rows", "positives", "decimals"),
    [(400, 0.2, 2), (60, 0.05, 1), (500, 0.5, None)],  # ties; resamples without positives; balanced
)
def test_counted_bootstrap_equals_per_row_weights_on_every_resample(
    rows: int, positives: float, decimals: int | None
) -> None:
    rng = np.random.default_rng(rows)
    y = (rng.random(rows) < positives).astype(float)
    s_c = np.clip(y * 0.3 + rng.random(rows) * 0.7, 0, 1)
    s_b = np.clip(y * 0.2 + rng.random(rows) * 0.8, 0, 1)
    if decimals is not None:
        s_c, s_b = np.round(s_c, decimals), np.round(s_b, decimals)
    names = ["roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy"]
    metrics = {n: build_metric(n, MetricRule(), decision_threshold=0.5) for n in names}
    together = paired_bootstraps(metrics, y, s_c, s_b, resamples=300, confidence=0.9, seed=5)
    for name, metric in metrics.items():
        assert metric.tally is not None
        reference = paired_bootstrap(
            _per_row_weights(metric), y, s_c, s_b, resamples=300, confidence=0.9, seed=5, chunk=64
        )
        fast = together[name]
        np.testing.assert_allclose(fast.deltas, reference.deltas, atol=1e-12, equal_nan=True, err_msg=name)
        assert fast.delta is not None and reference.delta is not None
        assert fast.delta.low == pytest.approx(reference.delta.low, abs=1e-12)
        assert fast.delta.high == pytest.approx(reference.delta.high, abs=1e-12)
        assert fast.candidate.low == pytest.approx(reference.candidate.low, abs=1e-12)
        alone = paired_bootstrap(metric, y, s_c, None, resamples=300, confidence=0.9, seed=5, chunk=7)
        assert alone.delta is None
        assert alone.candidate.low == pytest.approx(fast.candidate.low, abs=1e-12), name
        assert alone.candidate.high == pytest.approx(fast.candidate.high, abs=1e-12), name


def test_resamples_do_not_depend_on_the_chunk_size() -> None:
    whole = np.concatenate(list(resample_indices(3, 250, 100)))
    for chunk in (1, 7, 64, 100):
        assert np.array_equal(np.concatenate(list(resample_indices(3, 250, 100, chunk))), whole)


def test_error_metrics_bootstrap_equals_per_row_weights() -> None:
    rng = np.random.default_rng(8)
    y = rng.normal(size=300)
    p1, p2 = y + rng.normal(scale=0.5, size=300), y + rng.normal(scale=0.6, size=300)
    for name in ("mae", "rmse"):
        metric = build_metric(name, MetricRule(), decision_threshold=0.5)
        fast = paired_bootstrap(metric, y, p1, p2, resamples=200, confidence=0.95, seed=1)
        reference = paired_bootstrap(
            _per_row_weights(metric), y, p1, p2, resamples=200, confidence=0.95, seed=1
        )
        np.testing.assert_allclose(fast.deltas, reference.deltas, atol=1e-12)


def test_regression_and_ranking_metrics_match_independent_formulas() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.5, size=200)
    mae = build_metric("mae", MetricRule(), decision_threshold=0.5)
    rmse = build_metric("rmse", MetricRule(), decision_threshold=0.5)
    assert not mae.greater_is_better and not rmse.greater_is_better
    assert mae.value(y, p) == pytest.approx(np.mean(np.abs(y - p)))
    assert rmse.value(y, p) == pytest.approx(np.sqrt(np.mean((y - p) ** 2)))
    labels = (rng.random(200) < 0.3).astype(float)
    scores = labels * 0.5 + rng.random(200)
    top = np.argsort(-scores, kind="mergesort")[:20]
    p_at = build_metric("precision@20", MetricRule(), decision_threshold=0.5)
    r_at = build_metric("recall@20", MetricRule(), decision_threshold=0.5)
    assert p_at.value(labels, scores) == pytest.approx(labels[top].mean())
    assert r_at.value(labels, scores) == pytest.approx(labels[top].sum() / labels.sum())
    boot = paired_bootstrap(p_at, labels, scores, scores[::-1].copy(), resamples=60, confidence=0.95, seed=0)
    assert boot.delta is not None and boot.delta.low <= boot.delta.high


def test_identical_models_have_an_interval_of_zero_and_seed_makes_it_reproducible() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(500) < 0.3).astype(float)
    s = rng.random(500)
    metric = build_metric("roc_auc", MetricRule(), decision_threshold=0.5)
    same = paired_bootstrap(metric, y, s, s.copy(), resamples=100, confidence=0.95, seed=9)
    assert same.delta == Interval(0.0, 0.0)
    a = paired_bootstrap(metric, y, s, s[::-1].copy(), resamples=100, confidence=0.95, seed=9)
    b = paired_bootstrap(metric, y, s, s[::-1].copy(), resamples=100, confidence=0.95, seed=9)
    assert a.delta == b.delta


# -- latency and segments --------------------------------------------------------------------------------


def test_segment_gap_rule() -> None:
    y = np.array([1, 1, 0, 0] * 10 + [1, 1, 0, 0] * 10, dtype=float)
    good = np.where(y == 1, 0.9, 0.1)
    bad_for_fr = good.copy()
    bad_for_fr[40:] = 0.4  # FR: every fraud missed
    country = np.array(["DE"] * 40 + ["FR"] * 40)
    seg = SegmentRule(column="country", metric="recall", max_gap=0.1, min_rows=20)
    metric = build_metric("recall", MetricRule(), decision_threshold=0.5)
    report = segment_report(seg, metric, country, y, bad_for_fr, s_base=good)
    assert report.gap == pytest.approx(1.0) and report.baseline_gap == pytest.approx(0.0)
    assert (report.best, report.worst) == ("DE", "FR")
    assert failed(judge_segment(seg, report)) == ["segment-gap"]
    fine = segment_report(seg, metric, country, y, good, s_base=None)
    assert failed(judge_segment(seg, fine)) == []
    tiny = segment_report(
        seg.model_copy(update={"min_rows": 100}), metric, country, y, bad_for_fr, s_base=None
    )
    assert [c.passed for c in judge_segment(seg, tiny)] == [None]


# -- config -----------------------------------------------------------------------------------------------


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlgate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_infers_direction_and_validates(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        "eval:\n  label: is_fraud\n  metrics:\n"
        "    pr_auc: {threshold: 0.5, max_regression: {relative: 0.01}}\n"
        "    recall: {threshold: 0.6}\n  segments:\n    - {column: country, metric: recall, max_gap: 0.1}\n",
    )
    section = load_section(cfg, "eval", EvalSection)
    assert section.no_baseline == "absolute-only"
    assert build_metric("pr_auc", section.metrics["pr_auc"], decision_threshold=0.5).greater_is_better


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "eval:\n  metrics:\n    auc_roc: {threshold: 0.5}\n",
            "unknown metric 'auc_roc': use one of accuracy, f1",
        ),
        ("eval:\n  metrics:\n    mine: {function: 'pkg.mod:fn'}\n", "needs `greater_is_better"),
        ("eval:\n  metrics:\n    mae: {threshold: 1}\n", "does not apply to task 'classification'"),
        ("eval:\n  metrics:\n    f1: {max_regression: {relative: 0.1, absolute: 0.1}}\n", "exactly one"),
        ("eval:\n  metrics:\n    f1: {max_regresion: {relative: 0.1}}\n", "eval.metrics.f1.max_regresion"),
        ("eval:\n  no_baseline: ignore\n", "eval.no_baseline"),
    ],
)
def test_invalid_rules_are_one_line_errors_with_the_yaml_path(
    tmp_path: Path, text: str, expected: str
) -> None:
    cfg = write_config(tmp_path, text)
    with pytest.raises(GateInputError) as info:
        load_section(cfg, "eval", EvalSection)
    assert expected in info.value.message
    assert "\n" not in info.value.message


def test_custom_metric_by_import_path() -> None:
    custom = MetricRule.model_validate(
        {"function": "tests.support.models:fraud_cost", "greater_is_better": False}
    )
    metric = build_metric("cost", custom, decision_threshold=0.5)
    assert metric.greater_is_better is False
    assert metric.value(np.array([1.0, 0.0]), np.array([0.2, 0.7])) == pytest.approx(5.5)
    with pytest.raises(GateInputError, match="cannot import"):
        build_metric(
            "x",
            MetricRule.model_validate({"function": "nope.mod:f", "greater_is_better": True}),
            decision_threshold=0.5,
        )


def test_rules_digest_changes_with_the_rules() -> None:
    a = EvalSection.model_validate({"metrics": {"pr_auc": {"threshold": 0.5}}})
    b = EvalSection.model_validate({"metrics": {"pr_auc": {"threshold": 0.6}}})
    assert rules_digest(a) == rules_digest(a.model_copy())
    assert rules_digest(a) != rules_digest(b)
