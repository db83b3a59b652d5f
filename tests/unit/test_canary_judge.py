"""The canary judge on windows built from simulated requests recorded in the generated service's buckets:
clear passes, clear fails per signal, power before pass, shared outages, stratified evidence across steps,
impossible or missing data (inconclusive, never a crash or a pass), and the false-rollback rate of
repeated looks on A/A traffic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlgate.canary.config import (
    AnalysisSettings,
    CanarySection,
    alpha_shares,
    look_test_count,
    look_tests,
)
from mlgate.canary.judge import ArmWindow, StepWindow, judge_canary, shared_breach
from tests.support.canary_stack import LATENCY_BUCKETS

SCORE_BOUNDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
THRESHOLD_INDEX = SCORE_BOUNDS.index(0.2)


def arm(
    rng: np.random.Generator,
    n: int,
    *,
    error_rate: float = 0.01,
    latency_scale: float = 1.0,
    tail: float = 0.03,
    score_b: float = 12.0,
    positives_extra: float = 0.0,
) -> ArmWindow:
    """`n` simulated requests: heavy-tailed latency (lognormal body + Pareto tail), Beta scores."""
    errors = int((rng.random(n) < error_rate).sum())
    body = rng.lognormal(math.log(0.040), 0.35, size=n)
    pareto = 0.080 * (1 - rng.random(n)) ** (-1 / 2.5)
    latency = np.where(rng.random(n) < tail, pareto, body) * latency_scale
    cumulative = [float((latency <= le).sum()) for le in LATENCY_BUCKETS]
    scores = rng.beta(1.2, score_b, size=n - errors)
    counts = np.histogram(scores, bins=(0.0, *SCORE_BOUNDS))[0].tolist()
    counts.append(0)  # the +Inf bucket beyond 1.0
    positives = float((scores > 0.2).sum()) + positives_extra * (n - errors)
    return ArmWindow(
        requests=float(n),
        errors=float(errors),
        latency_buckets=[*zip(LATENCY_BUCKETS, cumulative, strict=True), (math.inf, float(n))],
        score_counts=[float(c) for c in counts],
        positives=positives,
    )


SETTINGS = AnalysisSettings()
PLAN = CanarySection()
BETA = PLAN.beta_per_look


def judge(
    *strata: StepWindow,
    settings: AnalysisSettings = SETTINGS,
    recent: StepWindow | None = None,
    step: float = 5.0,
    bake: int = 1,
):
    """Judge at a look of bake `bake` of `step` of the default plan with these analysis settings."""
    alphas = CanarySection(analysis=settings).test_alphas(step, bake)
    return judge_canary(
        list(strata), settings, min_requests=100, alphas=alphas, beta_look=BETA, recent=recent
    )


def test_healthy_canary_with_enough_traffic_passes() -> None:
    rng = np.random.default_rng(1)
    j = judge(StepWindow(arm(rng, 60_000), arm(rng, 20_000)))
    assert j.verdict == "pass", j.why
    signals = {c.signal for c in j.checks}
    assert signals >= {"error-rate", "latency p95", "latency p99", "prediction-shift", "positive-rate"}
    assert "error-rate guard" in signals


def test_healthy_canary_with_too_little_traffic_waits_never_passes() -> None:
    rng = np.random.default_rng(2)
    j = judge(StepWindow(arm(rng, 3_000), arm(rng, 200)))
    assert (j.verdict, j.reason) == ("inconclusive", "inconclusive")
    assert "rule out x2 errors" in j.why


@pytest.mark.parametrize(
    ("canary_kwargs", "reason"),
    [
        ({"error_rate": 0.03}, "error-rate"),
        ({"latency_scale": 1.3}, "latency"),
        ({"tail": 0.10}, "latency"),
        ({"score_b": 6.0}, "prediction-shift"),
    ],
    ids=["errors-3x", "p95-1.3x", "tail-only", "scores-shifted"],
)
def test_bad_canary_fails_with_its_reason(canary_kwargs: dict[str, float], reason: str) -> None:
    rng = np.random.default_rng(3)
    j = judge(StepWindow(arm(rng, 20_000), arm(rng, 5_000, **canary_kwargs)))
    assert (j.verdict, j.reason) == ("fail", reason), j.why


def test_positive_rate_shift_alone_fails_as_prediction_shift() -> None:
    rng = np.random.default_rng(4)
    settings = AnalysisSettings(signals=["positive-rate"])
    j = judge(StepWindow(arm(rng, 20_000), arm(rng, 5_000, positives_extra=0.1)), settings=settings)
    assert (j.verdict, j.reason) == ("fail", "prediction-shift"), j.why


def test_shared_outage_is_reported_never_blamed_on_the_canary() -> None:
    rng = np.random.default_rng(5)
    both_bad = StepWindow(arm(rng, 5_000, error_rate=0.10), arm(rng, 1_000, error_rate=0.10))
    j = judge(both_bad)
    assert (j.verdict, j.reason) == ("outage", "outage"), j.why
    # a 6 % canary beside a 10 % baseline is not the canary's fault either
    j = judge(StepWindow(arm(rng, 5_000, error_rate=0.10), arm(rng, 1_000, error_rate=0.06)))
    assert j.verdict == "outage", j.why


def test_a_check_failing_at_an_outage_look_is_held_never_blamed() -> None:
    """Both arms at 10 % 5xx and the canary 1.3x slower in the same window: the latency test fails on counts
    that include the outage, so the look is an outage (the controller drops its counts), not a latency
    failure. The same slow canary without the outage fails for latency."""
    rng = np.random.default_rng(7)
    both_bad = StepWindow(
        arm(rng, 40_000, error_rate=0.10), arm(rng, 10_000, error_rate=0.10, latency_scale=1.3)
    )
    j = judge(both_bad)
    assert (j.verdict, j.reason) == ("outage", "outage"), j.why
    assert "held, not blamed" in j.why and "latency p95" in j.why
    assert {c.signal: c.status for c in j.checks}["latency p95"] == "fail"
    slow = judge(StepWindow(arm(rng, 40_000), arm(rng, 10_000, latency_scale=1.3)))
    assert (slow.verdict, slow.reason) == ("fail", "latency"), slow.why


def test_each_check_says_which_counts_it_judged() -> None:
    rng = np.random.default_rng(8)
    j = judge(StepWindow(arm(rng, 60_000), arm(rng, 20_000)))
    windows = {c.signal: c.window for c in j.checks}
    assert windows["error-rate guard"] == "recent"
    assert windows["error-rate"] == windows["latency p95"] == windows["prediction-shift"] == "evidence"


def test_a_slice_is_a_shared_breach_only_when_the_baseline_is_far_above_the_guard_too() -> None:
    both = StepWindow(ArmWindow(requests=570, errors=194), ArmWindow(requests=60, errors=40))
    assert shared_breach(both, SETTINGS)
    # a failing canary beside a healthy baseline is never excused
    canary_alone = StepWindow(ArmWindow(requests=570, errors=6), ArmWindow(requests=60, errors=40))
    assert not shared_breach(canary_alone, SETTINGS)
    # the baseline alone: the canary clearly below the guard is not breaching
    baseline_alone = StepWindow(ArmWindow(requests=5700, errors=1940), ArmWindow(requests=600, errors=0))
    assert not shared_breach(baseline_alone, SETTINGS)
    assert not shared_breach(both, AnalysisSettings(max_error_rate=None))


def test_canary_alone_above_the_guard_fails() -> None:
    rng = np.random.default_rng(6)
    settings = AnalysisSettings(
        signals=["error-rate"], error_rate_tolerance=5.0
    )  # the relative test allows it
    j = judge(
        StepWindow(arm(rng, 20_000, error_rate=0.02), arm(rng, 2_000, error_rate=0.09)), settings=settings
    )
    assert (j.verdict, j.reason) == ("fail", "error-rate")
    assert "absolute guard" in j.why


def test_guard_judges_the_counts_since_the_previous_look() -> None:
    """An outage early in the step is over by the next look: the guard sees only what came after it."""
    rng = np.random.default_rng(7)
    settings = AnalysisSettings(signals=["error-rate"])
    outage = StepWindow(arm(rng, 5_000, error_rate=0.5), arm(rng, 1_000, error_rate=0.5))
    later = StepWindow(arm(rng, 50_000, error_rate=0.01), arm(rng, 10_000, error_rate=0.01))
    cumulative = StepWindow(_plus(outage.baseline, later.baseline), _plus(outage.canary, later.canary))
    assert judge(cumulative, settings=settings).verdict == "outage"
    assert judge(cumulative, settings=settings, recent=cumulative.minus(outage)).verdict != "outage"


def _plus(a: ArmWindow, b: ArmWindow) -> ArmWindow:
    return ArmWindow(requests=(a.requests or 0) + (b.requests or 0), errors=(a.errors or 0) + (b.errors or 0))


def test_evidence_is_stratified_by_step_so_a_changing_baseline_is_not_blamed_on_the_canary() -> None:
    """Step 1 (5 % canary) at 1 % errors, step 2 (50 %) at 4 % for both arms: pooled, the canary (mostly in
    step 2) looks twice as bad; per step it is identical to the baseline."""
    settings = AnalysisSettings(signals=["error-rate"], max_error_rate=None)
    step1 = StepWindow(ArmWindow(requests=95_000.0, errors=950.0), ArmWindow(requests=5_000.0, errors=50.0))
    step2 = StepWindow(ArmWindow(requests=5_000.0, errors=200.0), ArmWindow(requests=5_000.0, errors=200.0))
    j = judge(step1, step2, settings=settings)
    assert j.verdict != "fail", j.why
    pooled = StepWindow(
        ArmWindow(requests=100_000.0, errors=1_150.0), ArmWindow(requests=10_000.0, errors=250.0)
    )
    assert judge(pooled, settings=settings).verdict == "fail"


@pytest.mark.parametrize(
    "canary",
    [
        ArmWindow(requests=1000.0, errors=-3.0),
        ArmWindow(requests=1000.0, errors=1200.0),
        ArmWindow(requests=1000.0, errors=float("nan")),
        ArmWindow(requests=1000.0, errors=None),
    ],
    ids=["negative-errors", "errors-above-requests", "nan-errors", "missing-errors"],
)
def test_impossible_or_missing_error_counts_are_inconclusive(canary: ArmWindow) -> None:
    settings = AnalysisSettings(signals=["error-rate"])
    j = judge(StepWindow(ArmWindow(requests=5000.0, errors=10.0), canary), settings=settings)
    assert (j.verdict, j.reason) == ("inconclusive", "no-data"), j.why


def test_positives_above_predictions_are_inconclusive_never_a_crash() -> None:
    rng = np.random.default_rng(8)
    base, can = arm(rng, 20_000), arm(rng, 5_000)
    broken = ArmWindow(
        can.requests, can.errors, can.latency_buckets, can.score_counts, 10 * (can.requests or 0)
    )
    j = judge(StepWindow(base, broken))
    assert (j.verdict, j.reason) == ("inconclusive", "no-data")
    assert "positives" in j.why


@pytest.mark.parametrize(
    "window",
    [
        StepWindow(ArmWindow(requests=1000.0, errors=0.0), ArmWindow(requests=0.0, errors=0.0)),
        StepWindow(ArmWindow(requests=0.0, errors=0.0), ArmWindow(requests=0.0, errors=0.0)),
        StepWindow(ArmWindow(requests=None), ArmWindow(requests=500.0, errors=0.0)),
        StepWindow(ArmWindow(requests=float("nan")), ArmWindow(requests=500.0, errors=0.0)),
        StepWindow(ArmWindow(requests=-5.0), ArmWindow(requests=500.0, errors=0.0)),
    ],
    ids=["no-canary-traffic", "no-traffic", "missing-requests", "nan-requests", "negative-requests"],
)
def test_no_traffic_or_bad_request_counts_is_inconclusive(window: StepWindow) -> None:
    j = judge(window)
    assert (j.verdict, j.reason) == ("inconclusive", "no-data")


def test_missing_signal_metric_is_inconclusive_never_pass() -> None:
    rng = np.random.default_rng(9)
    base, can = arm(rng, 60_000), arm(rng, 20_000)
    for broken in (
        ArmWindow(can.requests, can.errors, can.latency_buckets, None, can.positives),
        ArmWindow(can.requests, can.errors, None, can.score_counts, can.positives),
        ArmWindow(can.requests, can.errors, can.latency_buckets[:-1], can.score_counts, can.positives),
        ArmWindow(can.requests, can.errors, can.latency_buckets, can.score_counts, None),
    ):
        j = judge(StepWindow(base, broken))
        assert (j.verdict, j.reason) == ("inconclusive", "no-data"), j.why


def test_signals_not_listed_are_not_judged() -> None:
    rng = np.random.default_rng(10)
    settings = AnalysisSettings(signals=["error-rate"])
    j = judge(StepWindow(arm(rng, 60_000), arm(rng, 20_000, latency_scale=3.0)), settings=settings)
    assert j.verdict == "pass", j.why


def test_look_test_count_counts_the_guards() -> None:
    assert look_test_count(AnalysisSettings()) == 6
    assert look_test_count(AnalysisSettings(max_error_rate=None, max_p99_ms=200)) == 6
    assert look_test_count(AnalysisSettings(signals=["error-rate"])) == 2
    plan = CanarySection()
    assert plan.beta_per_look == pytest.approx((1 - 0.95) / 3)


@pytest.mark.parametrize(
    "section",
    [
        {},
        {"analysis": {"step_alpha": "even"}},
        {"steps": [1, 10, 100], "max_inconclusive": 4, "bake_seconds": 600, "interval_seconds": 60},
        {"analysis": {"signals": ["error-rate", "latency"], "max_p99_ms": 250, "max_error_rate": None}},
        {"analysis": {"alpha": 0.01, "alpha_weights": {"error_rate": 10, "positive_rate": 0.5}}},
    ],
    ids=["defaults", "even-steps", "other-plan", "error-and-latency", "own-weights"],
)
def test_alpha_over_every_look_and_test_sums_to_the_configured_alpha(section: dict[str, object]) -> None:
    plan = CanarySection.model_validate(section)
    bakes = range(1, plan.max_inconclusive + 1)
    spent = sum(
        sum(plan.test_alphas(step, bake).values()) * plan.looks_per_bake
        for step in plan.analysed_steps
        for bake in bakes
    )
    assert spent == pytest.approx(plan.analysis.alpha)
    assert sum(alpha_shares(plan.analysis).values()) == pytest.approx(1.0)
    assert sum(plan.step_alpha_share(step) for step in plan.analysed_steps) == pytest.approx(1.0)
    assert sum(plan.bake_alpha_share(bake) for bake in bakes) == pytest.approx(1.0)
    assert set(plan.test_alphas(plan.analysed_steps[0])) == set(look_tests(plan.analysis))


def test_the_error_rate_and_p95_tests_the_first_step_and_later_bakes_get_the_largest_shares() -> None:
    """Defaults: the error-rate and p95 tests get 3/11 of a look's alpha each (p99 2/11, the guard and
    the prediction tests 1/11); the 5 % step 1/5 / (1/5 + 1/25 + 1/50) = 77 % of the rollout's alpha
    (25 %: 15 %, 50 %: 8 %); bake b of 3 gets b/6 of its step's."""
    plan = CanarySection()
    shares = alpha_shares(plan.analysis)
    assert shares["error-rate"] == pytest.approx(3 / 11) and shares["latency p95"] == pytest.approx(3 / 11)
    assert shares["latency p99"] == pytest.approx(2 / 11) and shares["positive-rate"] == pytest.approx(1 / 11)
    assert [round(plan.step_alpha_share(step), 3) for step in plan.analysed_steps] == [0.769, 0.154, 0.077]
    assert [plan.bake_alpha_share(bake) for bake in (1, 2, 3)] == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert plan.test_alphas(5, 3)["error-rate"] == pytest.approx(0.05 / 0.26 * 0.2 * 0.5 * 3 / 11)
    assert plan.test_alphas(5, 3)["error-rate"] == pytest.approx(3 * plan.test_alphas(5, 1)["error-rate"])
    with pytest.raises(ValueError, match="bake 4 outside"):
        plan.test_alphas(5, 4)
    even = CanarySection.model_validate({"analysis": {"step_alpha": "even"}})
    assert even.test_alphas(5, 2)["error-rate"] == pytest.approx(0.05 / 3 * 2 / 6 * 3 / 11)
    assert even.test_alphas(50, 2) == even.test_alphas(5, 2)


def test_a_judged_test_without_a_level_is_an_error_never_a_pass() -> None:
    """The judge takes every test's level from the plan: a test missing from it raises (the controller
    turns that into a `judge-error` rollback), so nothing is judged outside the alpha budget."""
    rng = np.random.default_rng(12)
    window = StepWindow(arm(rng, 20_000), arm(rng, 2_000))
    alphas = CanarySection().test_alphas(5)
    del alphas["latency p95"]
    with pytest.raises(KeyError, match="latency p95"):
        judge_canary([window], SETTINGS, min_requests=100, alphas=alphas, beta_look=BETA)


def test_repeated_looks_false_rollback_rate_stays_below_alpha() -> None:
    """A/A: 400 simulated rollouts of an identical canary, 3 steps with cumulative strata and up to 3
    looks each; the share the judge fails must stay within the stated alpha (5 %)."""
    rng = np.random.default_rng(11)
    rollouts, failed = 400, 0
    for _ in range(rollouts):
        completed: list[StepWindow] = []
        for percent in PLAN.analysed_steps:
            window = None
            for look in range(1, PLAN.max_inconclusive + 1):
                n = 1_500 * look
                n_can = int(n * percent / 100)
                window = StepWindow(arm(rng, n - n_can, error_rate=0.02), arm(rng, n_can, error_rate=0.02))
                j = judge(*completed, window, step=percent, bake=look)
                if j.verdict != "inconclusive":
                    break
            if j.verdict == "fail":
                failed += 1
                break
            assert window is not None
            completed.append(window)
    assert failed / rollouts <= PLAN.analysis.alpha


def test_steps_and_bake_are_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="strictly increasing"):
        CanarySection(steps=[5, 50, 25])
    with pytest.raises(ValidationError, match="at most 100"):
        CanarySection(steps=[5, 150])
    with pytest.raises(ValidationError, match="bake time must be positive"):
        CanarySection(bake_seconds=0)
    assert CanarySection().analysed_steps == [5, 25, 50]


def test_during_a_shared_outage_the_errors_are_not_counted_against_the_canary() -> None:
    """Both arms breach the guard and the canary happens to have more of the outage's errors: the look is
    an outage (the rollout holds), not an error-rate failure; without the outage the same excess fails."""
    settings = AnalysisSettings(signals=["error-rate"])
    during = StepWindow(
        ArmWindow(requests=10_000.0, errors=1_000.0), ArmWindow(requests=1_000.0, errors=160.0)
    )
    assert judge(during, settings=settings).verdict == "outage"
    calm = StepWindow(ArmWindow(requests=10_000.0, errors=100.0), ArmWindow(requests=1_000.0, errors=30.0))
    assert judge(calm, settings=settings).reason == "error-rate"
