"""The controller's rules on an in-memory router and scripted metrics (fast; the real routers are in
test_canary_local / _sagemaker / _kserve): promote, fail early at an interim look, inconclusive limit,
dry run, target errors, cancellation, reset of a half-shifted router, the Bonferroni budget, evidence
kept across steps, shared outages, and every failure inside a look ending with the traffic on the
baseline."""

from __future__ import annotations

import threading

import pytest

from mlgate.canary.config import CanarySection
from mlgate.canary.controller import (
    CanaryOutcome,
    Controller,
    MetricsUnavailableError,
    TargetError,
    TimelineEntry,
)
from mlgate.canary.judge import ArmWindow, StepWindow, judge_canary


class MemoryTarget:
    def __init__(self, start: float = 0.0, fail_on: float | None = None) -> None:
        self.weight = start
        self.fail_on = fail_on
        self.history: list[float] = []

    def set_weights(self, canary_percent: float) -> None:
        if canary_percent == self.fail_on:
            raise TargetError(f"router refused {canary_percent:g}%")
        self.weight = canary_percent
        self.history.append(canary_percent)

    def read_weights(self) -> float:
        return self.weight

    def describe(self) -> str:
        return "memory"


class Metrics:
    """Windows in which the canary gets its share of `rate` requests/s with the given error rates."""

    def __init__(
        self,
        target: MemoryTarget,
        rate: float = 2000.0,
        canary_errors: float = 0.0,
        fail: bool = False,
        base_errors: float = 0.0,
    ) -> None:
        self.target, self.rate, self.canary_errors, self.fail = target, rate, canary_errors, fail
        self.base_errors = base_errors
        self.calls = 0

    def window(self, seconds: float) -> StepWindow:
        self.calls += 1
        if self.fail:
            raise MetricsUnavailableError("connection refused")
        seconds = 60.0  # every look sees a minute of traffic, whatever the test's clock says
        share = self.target.weight / 100
        can_n = round(self.rate * seconds * share)
        base_n = round(self.rate * seconds) - can_n
        return StepWindow(
            ArmWindow(requests=base_n, errors=round(base_n * self.base_errors)),
            ArmWindow(requests=can_n, errors=round(can_n * self.canary_errors)),
        )


def plan(**kwargs: object) -> CanarySection:
    settings = {
        "steps": [5, 25, 50, 100],
        "bake_seconds": 0.01,
        "min_requests": 50,
        "analysis": {"signals": ["error-rate"]},
    }
    settings.update(kwargs)
    return CanarySection.model_validate(settings)


def run(p: CanarySection, target: MemoryTarget, metrics: Metrics, cancel: threading.Event | None = None):
    return Controller(p, target, metrics, cancel=cancel, verify_interval=0).run()


def test_healthy_canary_walks_every_step_and_is_promoted() -> None:
    target = MemoryTarget()
    outcome = run(plan(), target, Metrics(target))
    assert outcome.result == "promoted" and target.weight == 100
    assert target.history == [5, 25, 50, 100]


def test_interim_look_fails_early_without_waiting_for_the_end_of_the_bake() -> None:
    target = MemoryTarget()
    metrics = Metrics(target, canary_errors=0.2)
    outcome = run(plan(bake_seconds=0.05, interval_seconds=0.01), target, metrics)
    assert (outcome.result, outcome.failure_reason, outcome.rollback_verified) == (
        "rolled-back",
        "error-rate",
        True,
    )
    assert [e.action for e in outcome.timeline].count("analyse") == 1 and target.weight == 0
    assert "interim look 1" in outcome.timeline[-2].why


def test_inconclusive_looks_in_a_row_roll_back_never_pass() -> None:
    target = MemoryTarget()
    outcome = run(plan(max_inconclusive=2), target, Metrics(target, rate=0.01))
    assert (outcome.result, outcome.failure_reason) == ("rolled-back", "no-data")
    assert [e.verdict for e in outcome.timeline if e.action == "analyse"] == ["inconclusive", "inconclusive"]
    assert target.weight == 0


def test_metrics_source_down_is_inconclusive_then_rollback() -> None:
    target = MemoryTarget()
    outcome = run(plan(max_inconclusive=3), target, Metrics(target, fail=True))
    assert (outcome.result, outcome.failure_reason) == ("rolled-back", "no-data")
    assert "metrics source unavailable" in outcome.timeline[-1].why


def test_dry_run_never_moves_traffic() -> None:
    target = MemoryTarget(start=10.0)
    outcome = run(plan(dry_run=True), target, Metrics(target, canary_errors=0.3))
    assert outcome.result == "dry-run" and outcome.passed
    assert target.history == [] and target.weight == 10.0
    assert outcome.would_be.startswith("rolled-back (error-rate)")


def test_router_error_rolls_back_with_target_error() -> None:
    target = MemoryTarget(fail_on=25)
    outcome = run(plan(), target, Metrics(target))
    assert (outcome.result, outcome.failure_reason, outcome.rollback_verified) == (
        "rolled-back",
        "target-error",
        True,
    )
    assert target.weight == 0


def test_weights_moved_by_someone_else_roll_back() -> None:
    target = MemoryTarget()

    class Meddling(Metrics):
        def window(self, seconds: float) -> StepWindow:
            self.target.weight = 80.0  # a person or another controller changed the split
            return super().window(seconds)

    outcome = run(plan(max_inconclusive=3), target, Meddling(target, rate=0.01))
    assert outcome.failure_reason == "target-error"
    assert "weights changed outside mlgate" in outcome.timeline[-1].why
    assert target.weight == 0


def test_cancel_rolls_back() -> None:
    target = MemoryTarget()
    cancel = threading.Event()
    cancel.set()
    outcome = run(plan(), target, Metrics(target), cancel=cancel)
    assert (outcome.result, outcome.failure_reason) == ("rolled-back", "cancelled")
    assert target.weight == 0


def test_rerun_resets_a_half_shifted_router_first() -> None:
    target = MemoryTarget(start=50.0)
    outcome = run(plan(), target, Metrics(target))
    assert outcome.timeline[0].action == "reset" and "found 50%" in outcome.timeline[0].why
    assert target.history[:2] == [0.0, 5]


def test_bonferroni_budget_counts_every_possible_look() -> None:
    p = plan(
        bake_seconds=600,
        interval_seconds=60,
        max_inconclusive=2,
        analysis={"signals": ["error-rate"], "step_alpha": "even"},
    )
    assert p.looks_per_bake == 10
    # error-rate test (weight 3) and its guard (1); each step a third, bake b of 2 b/3 of it, 10 looks
    assert p.test_alphas(5, 1)["error-rate"] == pytest.approx(0.05 / 3 * 1 / 3 / 10 * 3 / 4)
    assert p.test_alphas(25, 2)["error-rate guard"] == pytest.approx(0.05 / 3 * 2 / 3 / 10 * 1 / 4)
    with pytest.raises(ValueError, match="interval_seconds"):
        plan(bake_seconds=10, interval_seconds=20)


def test_too_little_traffic_to_rule_out_the_regression_ends_inconclusive_never_promoted() -> None:
    target = MemoryTarget()
    outcome = run(plan(), target, Metrics(target, rate=20.0, base_errors=0.01, canary_errors=0.01))
    assert (outcome.result, outcome.failure_reason) == ("rolled-back", "inconclusive")
    assert "rule out x2 errors" in outcome.timeline[-1].why
    assert target.weight == 0 and 100 not in target.history


def test_evidence_accumulates_across_steps() -> None:
    """Each step's last window stays in the evidence: the last step's look counts every canary request
    since the rollout started, step by step."""
    target = MemoryTarget()
    outcome = run(plan(), target, Metrics(target))
    looks = [e for e in outcome.timeline if e.action == "analyse"]
    canary = [next(c for c in e.judgement["checks"] if c["signal"] == "error-rate")["canary"] for e in looks]
    assert canary == ["0.00 % (0/6000)", "0.00 % (0/36000)", "0.00 % (0/96000)"]


class Outage(Metrics):
    """Both arms answer 30 % of requests with 5xx during the first `bad_looks` looks. Each look adds a
    minute of traffic at the current weights; a window holds what was added within `seconds` of now."""

    def __init__(self, target: MemoryTarget, bad_looks: int) -> None:
        super().__init__(target)
        self.bad_looks = bad_looks
        self.log: list[tuple[float, StepWindow]] = []

    def window(self, seconds: float) -> StepWindow:
        import time

        rate = 0.3 if self.calls < self.bad_looks else 0.0
        self.base_errors = self.canary_errors = rate
        now = time.monotonic()
        self.log.append((now, super().window(seconds)))
        inside = [w for t, w in self.log if t > now - seconds]

        def total(arm: str, what: str) -> float:
            return sum(getattr(getattr(w, arm), what) or 0 for w in inside)

        return StepWindow(
            ArmWindow(requests=total("baseline", "requests"), errors=total("baseline", "errors")),
            ArmWindow(requests=total("canary", "requests"), errors=total("canary", "errors")),
        )


def test_shared_outage_holds_the_step_and_never_blames_the_canary() -> None:
    target = MemoryTarget()
    p = plan(analysis={"signals": ["error-rate"], "error_rate_min_delta": 0.01})
    outcome = run(p, target, Outage(target, bad_looks=1))
    looks = [e for e in outcome.timeline if e.action == "analyse"]
    assert looks[0].verdict == "outage" and "shared outage" in looks[0].why
    assert "evidence restarts" in looks[0].why
    # held, not blamed: the next look judges only what came after the outage look
    after = next(c for c in looks[1].judgement["checks"] if c["signal"] == "error-rate guard")
    assert after["status"] == "pass", after
    assert outcome.result == "promoted", outcome.timeline[-1].why


def test_an_outage_that_lasts_rolls_back_as_outage_not_as_the_canarys_fault() -> None:
    target = MemoryTarget()
    outcome = run(plan(), target, Outage(target, bad_looks=99))
    assert (outcome.result, outcome.failure_reason) == ("rolled-back", "outage")
    assert not [e for e in outcome.timeline if e.verdict == "fail"]
    assert "3 bakes in a row held by a shared outage" in outcome.timeline[-1].why
    assert target.weight == 0


class Raising(Metrics):
    def __init__(
        self, target: MemoryTarget, error: Exception | None = None, window: StepWindow | None = None
    ):
        super().__init__(target)
        self.error, self.bad_window = error, window

    def window(self, seconds: float) -> StepWindow:
        if self.error is not None:
            raise self.error
        assert self.bad_window is not None
        return self.bad_window


@pytest.mark.parametrize(
    ("metrics_kwargs", "message"),
    [
        ({"error": KeyError("data")}, "the metrics source raised KeyError"),
        # a window the judge cannot compute with (a count that is not a number)
        (
            {"window": StepWindow(ArmWindow(requests="lots", errors=0), ArmWindow(requests=10, errors=0))},  # type: ignore[arg-type]
            "the judge raised TypeError",
        ),
    ],
    ids=["metrics-source-crash", "judge-crash"],
)
def test_any_exception_in_a_look_rolls_back_with_judge_error(
    metrics_kwargs: dict[str, object], message: str
) -> None:
    target = MemoryTarget()
    outcome = run(plan(), target, Raising(target, **metrics_kwargs))  # type: ignore[arg-type]
    assert (outcome.result, outcome.failure_reason, outcome.rollback_verified) == (
        "rolled-back",
        "judge-error",
        True,
    )
    assert message in outcome.timeline[-1].why
    assert target.weight == 0


def test_an_unexpected_exception_from_the_router_is_a_target_error_and_rolls_back() -> None:
    class Flaky(MemoryTarget):
        reads = 0

        def read_weights(self) -> float:
            self.reads += 1
            if self.reads == 3:  # the read-back during the first bake
                raise ConnectionResetError("peer reset")
            return super().read_weights()

    target = Flaky()
    outcome = run(plan(), target, Metrics(target))
    assert (outcome.result, outcome.failure_reason) == ("rolled-back", "target-error")
    assert "ConnectionResetError" in outcome.timeline[-1].why
    assert target.weight == 0


class SlicedTraffic:
    """Router, clock and metrics source of one rollout on a simulated clock: `rate` requests/s split by
    the weights in 10-second slices, 1 % 5xx in both arms, except during `outage` (start, end seconds):
    every request a 5xx, and the canary happens to get `outage_share` x its share of the outage's
    requests (the chance imbalance that made the old controller blame it)."""

    def __init__(
        self, rate: float, outage: tuple[float, float], outage_share: float, canary_error: float = 0.01
    ) -> None:
        self.rate, self.outage, self.outage_share = rate, outage, outage_share
        self.canary_error = canary_error
        self.now, self.weight = 0.0, 0.0
        self.log: list[tuple[float, float, float, float, float]] = []  # end, base n/e, canary n/e

    def set_weights(self, canary_percent: float) -> None:
        self.weight = canary_percent

    def read_weights(self) -> float:
        return self.weight

    def describe(self) -> str:
        return "sliced"

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float, _cancel: threading.Event) -> bool:
        end = self.now + seconds
        while self.now < end - 1e-9:
            share = self.weight / 100
            base_n, can_n = self.rate * 10 * (1 - share), self.rate * 10 * share
            if self.outage[0] <= self.now < self.outage[1]:
                can_n *= self.outage_share
                self.log.append((self.now + 10, base_n, base_n, can_n, can_n))
            else:
                self.log.append((self.now + 10, base_n, 0.01 * base_n, can_n, self.canary_error * can_n))
            self.now += 10
        return False

    def between(self, start: float, end: float) -> StepWindow:
        rows = [row for row in self.log if start < row[0] <= end + 1e-9]
        return StepWindow(
            ArmWindow(requests=sum(r[1] for r in rows), errors=sum(r[2] for r in rows)),
            ArmWindow(requests=sum(r[3] for r in rows), errors=sum(r[4] for r in rows)),
            end - start,
        )

    def window(self, seconds: float) -> StepWindow:
        return self.between(self.now - seconds, self.now)


def outage_plan(min_delta: float, **kwargs: object) -> CanarySection:
    return CanarySection.model_validate(
        {
            "bake_seconds": 300,
            "min_requests": 30,
            "analysis": {"signals": ["error-rate"], "error_rate_min_delta": min_delta},
            **kwargs,
        }
    )


def rollout(p: CanarySection, sim: SlicedTraffic) -> tuple[CanaryOutcome, list[TimelineEntry]]:
    outcome = Controller(p, sim, sim, clock=sim.clock, sleep=sim.sleep, verify_interval=0).run()
    return outcome, [e for e in outcome.timeline if e.action == "analyse"]


def overlaps(spans: list[list[float]], outage: tuple[float, float]) -> bool:
    return any(start < outage[1] and end > outage[0] for start, end in spans)


def test_an_outage_with_more_of_its_errors_on_the_canary_holds_then_resumes_on_clean_evidence() -> None:
    """A 30-second outage in the first bake, with the canary getting 1.5x its share of the outage's
    requests by chance: the error-rate test fails at the look that sees it, but both arms breach the guard,
    so the look holds (outage) and blames nothing; the next look settles it (its counts may hold the
    outage's tail: dropped, never a pass or a blame); the step's evidence restarts after it, the third look
    judges clean traffic only, passes, and the rollout is promoted. Judging the step's whole window instead
    (the outage inside it, as the controller once did) blames the canary."""
    p = outage_plan(0.02)
    sim = SlicedTraffic(rate=100.0, outage=(150.0, 180.0), outage_share=1.5)
    outcome, looks = rollout(p, sim)
    assert [(e.verdict, e.reason) for e in looks] == [
        ("outage", "outage"),
        ("inconclusive", "outage"),
        ("pass", ""),
        ("pass", ""),
        ("pass", ""),
    ], [e.why for e in looks]
    assert "held, not blamed" in looks[0].why and "error-rate:" in looks[0].why
    assert "first look after a shared outage" in looks[1].why
    assert outcome.result == "promoted" and sim.weight == 100
    # the settling look counted the step's traffic after the outage look only (300-600 s)...
    checks = {c["signal"]: c for c in looks[1].judgement["checks"]}
    assert checks["error-rate"]["canary"] == "1.00 % (15/1500)", checks["error-rate"]
    # ...and the passing look what came after the settling look (600-900 s), at the level of a fresh
    # step's first bake (the alpha schedule restarts with the evidence)
    assert looks[2].judgement["evidence"]["strata_seconds"] == [[600.0, 900.0]]
    assert looks[2].judgement["alphas"] == pytest.approx(p.test_alphas(5, 1))
    for look in looks[1:]:
        assert not overlaps(look.judgement["evidence"]["strata_seconds"], sim.outage), look.judgement
    # the same step judged on its whole window, outage included, blames the canary
    whole = judge_canary(
        [sim.between(0, 600)],
        p.analysis,
        min_requests=30,
        alphas=p.test_alphas(5),
        beta_look=p.beta_per_look,
        recent=sim.between(300, 600),  # the guards: the counts since the previous look
    )
    assert (whole.verdict, whole.reason) == ("fail", "error-rate"), whole.why


def test_an_outage_across_a_look_leaves_none_of_its_counts_in_the_evidence() -> None:
    """An outage from 290 to 320 s: the first look (300 s) sees 10 s of it, below the guard, and passes the
    5 % step; the 25 % step's first look reports the outage. The stretch the outage began in (the 5 %
    step's last stretch, 0-300 s) is dropped with it, and the settling look's (the outage's tail) too: no
    later look judges any second of the outage, and the rollout is promoted."""
    p = outage_plan(0.02)
    sim = SlicedTraffic(rate=100.0, outage=(290.0, 320.0), outage_share=1.0)
    outcome, looks = rollout(p, sim)
    assert [e.verdict for e in looks[:4]] == ["pass", "outage", "inconclusive", "pass"], [
        e.why for e in looks
    ]
    assert outcome.result == "promoted"
    for look in looks[2:]:
        evidence = look.judgement["evidence"]
        assert not overlaps([*evidence["strata_seconds"], evidence["recent_seconds"]], sim.outage), evidence


def test_evidence_from_before_an_outage_is_kept_as_its_own_stratum() -> None:
    """Looks every 100 s, an outage at 520-550 s in the second bake (the first could not pass yet): the
    step's window up to 400 s stays in the evidence as a stratum; 400-500 s (the outage may have begun in
    it below the guard), the outage's stretch and the settling look's (600-700 s) are dropped; the third
    bake passes on 0-400 s and 700-900 s, at the third bake's level (the second bake's interim looks
    before the outage could have blamed the canary, so that bake counts)."""
    p = outage_plan(0.03, interval_seconds=100)
    sim = SlicedTraffic(rate=20.0, outage=(520.0, 550.0), outage_share=1.0)
    outcome, looks = rollout(p, sim)
    finals = [e for e in looks if not e.why.startswith("interim")]
    assert [e.verdict for e in finals[:3]] == ["inconclusive", "outage", "pass"], [e.why for e in looks]
    assert finals[2].judgement["evidence"]["strata_seconds"] == [[0.0, 400.0], [700.0, 900.0]]
    error_rate = next(c for c in finals[2].judgement["checks"] if c["signal"] == "error-rate")
    assert error_rate["canary"] == "1.00 % (6/600)", error_rate  # 400 + 200 requests
    assert finals[2].judgement["alphas"] == pytest.approx(p.test_alphas(5, 3))
    assert outcome.result == "promoted"


def test_an_outage_pauses_the_step_its_bakes_do_not_count_against_its_patience() -> None:
    """At 20 requests/s the step needs two clean bakes (600 canary requests) to rule out the regression. An
    outage in the first bake holds that bake and the next (settling) one; neither blames, spends alpha or
    counts against `max_inconclusive` (3): the step still gets its three judged bakes, passes at the
    second of them, at bake 2's level, and the rollout is promoted."""
    p = outage_plan(0.03)
    sim = SlicedTraffic(rate=20.0, outage=(150.0, 180.0), outage_share=1.0)
    outcome, looks = rollout(p, sim)
    assert [(e.verdict, e.reason) for e in looks[:4]] == [
        ("outage", "outage"),
        ("inconclusive", "outage"),
        ("inconclusive", "inconclusive"),
        ("pass", ""),
    ], [e.why for e in looks]
    assert looks[2].judgement["alphas"] == pytest.approx(p.test_alphas(5, 1))
    assert looks[3].judgement["alphas"] == pytest.approx(p.test_alphas(5, 2))
    assert looks[3].judgement["evidence"]["strata_seconds"] == [[600.0, 1200.0]]
    assert outcome.result == "promoted"


def test_a_failure_right_after_an_outage_is_held_and_the_canary_is_blamed_on_clean_traffic() -> None:
    """A canary with 4x the baseline's errors and an outage in the first bake: the look after the outage
    fails, but only settles the outage (held: inconclusive, `outage`); the next look, on traffic after it
    only, fails again and the canary is rolled back for its errors, the report naming the rule and the
    seconds it was decided on."""
    p = outage_plan(0.03)
    sim = SlicedTraffic(rate=100.0, outage=(150.0, 180.0), outage_share=1.0, canary_error=0.04)
    outcome, looks = rollout(p, sim)
    assert [(e.verdict, e.reason) for e in looks] == [
        ("outage", "outage"),
        ("inconclusive", "outage"),
        ("fail", "error-rate"),
    ], [e.why for e in looks]
    assert "first look after a shared outage" in looks[1].why and "held, not blamed" in looks[1].why
    assert (outcome.result, outcome.failure_reason) == ("rolled-back", "error-rate")
    assert sim.weight == 0
    blamed = looks[2].judgement["blamed"]
    assert {"check": "error-rate", "window": "evidence", "seconds": [[600.0, 900.0]]} in blamed
    assert "decided on error-rate over 600-900 s" in outcome.timeline[-1].why


def test_a_canary_breaching_the_guard_alone_is_rolled_back_at_the_first_look() -> None:
    """No outage, the canary alone at 10 % 5xx: rolled back at the first look, for the guard (the counts
    since the previous look) and the test against the baseline (the evidence), both named in the report."""
    p = outage_plan(0.03)
    sim = SlicedTraffic(rate=100.0, outage=(0.0, 0.0), outage_share=1.0, canary_error=0.10)
    outcome, looks = rollout(p, sim)
    assert [(e.verdict, e.reason) for e in looks] == [("fail", "error-rate")], [e.why for e in looks]
    assert (outcome.result, outcome.failure_reason, sim.weight) == ("rolled-back", "error-rate", 0)
    blamed = {b["check"]: b for b in looks[0].judgement["blamed"]}
    assert blamed["error-rate guard"] == {
        "check": "error-rate guard",
        "window": "recent",
        "seconds": [[0.0, 300.0]],
    }
    assert blamed["error-rate"]["seconds"] == [[0.0, 300.0]]


def test_an_outage_that_began_just_before_a_look_below_its_guard_is_not_blamed() -> None:
    """10 s of outage just before the first look, with the canary getting 4x its share of it by chance:
    over the whole look the baseline stays below the 5 % guard (4.3 %) while the canary is at 13 %, so the
    look's own counts blame the canary (guard and error-rate test). Before blaming, the controller searches
    the evidence in 30-second slices, finds both arms above the guard in 270-300 s, and holds the look as
    an outage instead; the rollout resumes on traffic after it and is promoted."""
    p = outage_plan(0.03)
    sim = SlicedTraffic(rate=20.0, outage=(290.0, 300.0), outage_share=4.0)
    outcome, looks = rollout(p, sim)
    assert (looks[0].verdict, looks[0].reason) == ("outage", "outage"), looks[0].why
    assert "a shared outage inside the evidence (270-300 s" in looks[0].why
    assert "held, not blamed" in looks[0].why and "error-rate guard" in looks[0].why
    assert outcome.result == "promoted", [e.why for e in looks]
    for look in looks[1:]:
        evidence = look.judgement["evidence"]
        assert not overlaps([*evidence["strata_seconds"], evidence["recent_seconds"]], sim.outage), evidence
    # the look's own counts, judged as they are, blame the canary
    alone = judge_canary(
        [sim.between(0, 300)],
        p.analysis,
        min_requests=30,
        alphas=p.test_alphas(5),
        beta_look=p.beta_per_look,
    )
    assert (alone.verdict, alone.reason) == ("fail", "error-rate"), alone.why
