"""The canary judge on synthetic windows: clear passes, clear fails per signal, inconclusive cases, and
the false-rollback rate of repeated looks on A/A traffic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlgate.canary.config import AnalysisSettings, CanarySection
from mlgate.canary.judge import (
    ArmWindow,
    StepWindow,
    alpha_per_test,
    judge_canary_step,
)

EDGES = np.linspace(0, 1, 11)


def arm(
    rng: np.random.Generator,
    n: int,
    *,
    error_rate: float = 0.01,
    latency_ms: float = 50.0,
    score_a: float = 2.0,
    score_b: float = 5.0,
) -> ArmWindow:
    errors = rng.binomial(n, error_rate)
    latencies = rng.lognormal(math.log(latency_ms), 0.3, size=n)
    scores = rng.beta(score_a, score_b, size=n)
    counts, _ = np.histogram(scores, bins=EDGES)
    return ArmWindow(
        requests=float(n),
        errors=float(errors),
        latency_ms={0.95: float(np.quantile(latencies, 0.95)), 0.99: float(np.quantile(latencies, 0.99))},
        score_counts=[float(c) for c in counts],
        positives=float((scores >= 0.5).sum()),
    )


SETTINGS = AnalysisSettings()
ALPHA = alpha_per_test(SETTINGS.alpha, 3, 3)


def judge(window: StepWindow, min_requests: int = 100):
    return judge_canary_step(window, SETTINGS, min_requests=min_requests, alpha_test=ALPHA)


def test_healthy_canary_passes() -> None:
    rng = np.random.default_rng(1)
    j = judge(StepWindow(arm(rng, 20_000), arm(rng, 5_000)))
    assert j.verdict == "pass", j.why
    assert {c.signal for c in j.checks} >= {
        "error-rate",
        "latency p95",
        "latency p99",
        "prediction-shift",
        "positive-rate",
    }


@pytest.mark.parametrize(
    ("canary_kwargs", "reason"),
    [
        ({"error_rate": 0.03}, "error-rate"),
        ({"latency_ms": 90.0}, "latency"),
        ({"score_a": 5.0, "score_b": 2.0}, "prediction-shift"),
    ],
    ids=["errors-3x", "latency-1.8x", "scores-flipped"],
)
def test_bad_canary_fails_with_its_reason(canary_kwargs: dict[str, float], reason: str) -> None:
    rng = np.random.default_rng(2)
    j = judge(StepWindow(arm(rng, 20_000), arm(rng, 5_000, **canary_kwargs)))
    assert j.verdict == "fail"
    assert j.reason == reason, j.why


def test_positive_rate_shift_alone_fails_as_prediction_shift() -> None:
    rng = np.random.default_rng(3)
    base = arm(rng, 20_000)
    can = arm(rng, 5_000)
    flipped = ArmWindow(can.requests, can.errors, can.latency_ms, can.score_counts, can.positives + 1_000)
    settings = AnalysisSettings(signals=["positive-rate"])
    j = judge_canary_step(StepWindow(base, flipped), settings, min_requests=100, alpha_test=ALPHA)
    assert (j.verdict, j.reason) == ("fail", "prediction-shift")


def test_absolute_error_guard_fails_even_when_baseline_is_as_bad() -> None:
    rng = np.random.default_rng(4)
    j = judge(StepWindow(arm(rng, 5_000, error_rate=0.08), arm(rng, 5_000, error_rate=0.08)))
    assert (j.verdict, j.reason) == ("fail", "error-rate")
    assert "absolute guard" in j.why


def test_absolute_p99_guard() -> None:
    rng = np.random.default_rng(5)
    settings = AnalysisSettings(max_p99_ms=60.0)
    j = judge_canary_step(
        StepWindow(arm(rng, 20_000), arm(rng, 5_000)), settings, min_requests=100, alpha_test=ALPHA
    )
    assert (j.verdict, j.reason) == ("fail", "latency")


@pytest.mark.parametrize(
    "window",
    [
        StepWindow(ArmWindow(requests=1000.0), ArmWindow(requests=0.0)),
        StepWindow(ArmWindow(requests=0.0), ArmWindow(requests=0.0)),
        StepWindow(ArmWindow(requests=None), ArmWindow(requests=500.0)),
        StepWindow(ArmWindow(requests=float("nan")), ArmWindow(requests=500.0)),
    ],
    ids=["no-canary-traffic", "no-traffic", "missing-requests", "nan-requests"],
)
def test_no_traffic_or_missing_counts_is_inconclusive(window: StepWindow) -> None:
    j = judge(window)
    assert (j.verdict, j.reason) == ("inconclusive", "no-data")


def test_missing_signal_metric_is_inconclusive_never_pass() -> None:
    rng = np.random.default_rng(6)
    base, can = arm(rng, 20_000), arm(rng, 5_000)
    for broken in (
        ArmWindow(can.requests, can.errors, can.latency_ms, None, can.positives),
        ArmWindow(
            can.requests, can.errors, {0.95: float("nan"), 0.99: None}, can.score_counts, can.positives
        ),
        ArmWindow(can.requests, None, can.latency_ms, can.score_counts, can.positives),
        ArmWindow(can.requests, can.errors, can.latency_ms, can.score_counts, None),
    ):
        j = judge(StepWindow(base, broken))
        assert j.verdict == "inconclusive", j.why


def test_too_few_requests_is_inconclusive_but_a_clear_failure_fails_early() -> None:
    rng = np.random.default_rng(7)
    small = judge(StepWindow(arm(rng, 2_000), arm(rng, 50)), min_requests=100)
    assert small.verdict == "inconclusive"
    broken = judge(
        StepWindow(arm(rng, 2_000, error_rate=0.01), arm(rng, 50, error_rate=0.6)), min_requests=100
    )
    assert (broken.verdict, broken.reason) == ("fail", "error-rate")


def test_signals_not_listed_are_not_judged() -> None:
    rng = np.random.default_rng(8)
    base, can = arm(rng, 20_000), arm(rng, 5_000, latency_ms=200.0)
    settings = AnalysisSettings(signals=["error-rate"])
    j = judge_canary_step(StepWindow(base, can), settings, min_requests=100, alpha_test=ALPHA)
    assert j.verdict == "pass"


def test_repeated_looks_false_rollback_rate_stays_below_alpha() -> None:
    """A/A: 1,000 simulated rollouts of an identical canary, 3 analysed steps each with up to 3 looks;
    the fraction rolled back by the judge must stay within the stated alpha (5 %)."""
    rng = np.random.default_rng(9)
    plan = CanarySection()
    alpha = plan.alpha_per_test
    rollouts, rolled_back = 1_000, 0
    for _ in range(rollouts):
        for percent in plan.analysed_steps:
            n = 4_000
            n_can = int(n * percent / 100)
            j = judge_canary_step(
                StepWindow(arm(rng, n - n_can, error_rate=0.02), arm(rng, n_can, error_rate=0.02)),
                plan.analysis,
                min_requests=plan.min_requests,
                alpha_test=alpha,
            )
            if j.verdict == "fail":
                rolled_back += 1
                break
    assert rolled_back / rollouts <= plan.analysis.alpha


def test_steps_and_bake_are_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="strictly increasing"):
        CanarySection(steps=[5, 50, 25])
    with pytest.raises(ValidationError, match="at most 100"):
        CanarySection(steps=[5, 150])
    with pytest.raises(ValidationError, match="bake time must be positive"):
        CanarySection(bake_seconds=0)
    assert CanarySection().analysed_steps == [5, 25, 50]
