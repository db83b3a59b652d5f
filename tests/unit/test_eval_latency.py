"""The eval gate's latency procedure (`mlgate.eval_gate.latency`): rounds, CPU time, the relative rule against
the baseline measured interleaved, and the confirmation before a latency rule fails."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgate.eval_gate.config import LatencyRules
from mlgate.eval_gate.latency import (
    LatencyCheck,
    confirmed,
    judge_latency,
    latency_gate,
    measure_latency,
    ratio_of_rounds,
    summarise,
)


def failed(checks: list[LatencyCheck]) -> list[str]:
    return [c.reason for c in checks if c.passed is False]


def test_budgets_absolute_and_relative() -> None:
    rules = LatencyRules(single_row_p95_ms=50, batch_p95_ms=200, max_relative_increase=0.2)
    fast = {"single_row": {"p95": 10.0}, "batch": {"p95": 100.0}}
    slow = {"single_row": {"p95": 60.0}, "batch": {"p95": 150.0}}
    assert failed(judge_latency(rules, fast, fast)) == []
    checks = judge_latency(rules, slow, fast)
    assert failed(checks) == ["latency-budget"] * 3  # single-row budget, single-row relative, batch relative
    assert [c.passed for c in judge_latency(rules, fast, None)] == [True, None, True, None]


def test_relative_rule_judges_the_ratio_measured_in_rounds_not_the_ratio_of_p95s() -> None:
    rules = LatencyRules(max_relative_increase=0.5)
    # overall p95s say 3x (a noisy round), the median of the per-round ratios says 1.1x
    cand = {"single_row": {"p95": 3.0, "ratio": 1.1}, "batch": {"p95": 1.0, "ratio": 1.6}}
    base = {"single_row": {"p95": 1.0}, "batch": {"p95": 1.0}}
    checks = judge_latency(rules, cand, base)
    assert [c.passed for c in checks] == [True, False]
    assert "1.60x" in checks[1].detail
    nan = {"single_row": {"p95": 1.0, "ratio": float("nan")}, "batch": {"p95": 1.0, "ratio": 1.0}}
    assert [c.passed for c in judge_latency(rules, nan, base)] == [False, True]  # undefined fails


def test_summary_judges_the_median_of_round_p95s() -> None:
    rounds = [[0.001] * 20, [0.001] * 20, [0.050] * 20, [0.001] * 20, [0.001] * 20]  # one disturbed round
    summary = summarise(rounds)
    assert summary["p95"] == pytest.approx(1.0)
    assert summary["p95_all_calls"] == pytest.approx(50.0)
    assert summary["calls"] == 100 and summary["rounds"] == 5
    ratio = ratio_of_rounds([[2.0] * 5, [9.0] * 5, [2.0] * 5], [[1.0] * 5, [1.0] * 5, [1.0] * 5])
    assert ratio == pytest.approx(2.0)
    assert summarise([[0.002] * 5, []])["rounds"] == 1  # a round cut by the time budget is left out


def test_calls_are_interleaved_and_split_into_rounds() -> None:
    calls: list[str] = []
    predictors = {
        "candidate": lambda frame: calls.append("c") or np.zeros(len(frame)),
        "baseline": lambda frame: calls.append("b") or np.zeros(len(frame)),
    }
    frame = pd.DataFrame({"x": range(10)})
    rules = LatencyRules(warmup=1, single_row_calls=10, batch_calls=4, rounds=2)
    result = measure_latency(predictors, frame, rules)
    assert set(result) == {"candidate", "baseline"}
    assert result["candidate"]["single_row"]["calls"] == 10
    assert result["candidate"]["single_row"]["rounds"] == 2
    assert "ratio" in result["candidate"]["batch"] and "ratio" not in result["baseline"]["batch"]
    timed = "".join(calls[4:])  # after warm-up (2 calls per model)
    assert timed.startswith("cbbccb")  # alternating order: noise cannot favour one model


def busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_clock_does_not_count_time_spent_waiting() -> None:
    """A call that sleeps (waits, as a descheduled process does) costs no CPU time; one that computes
    does: `clock: cpu` sees the work, not the wait."""

    def sleeper(frame: Any) -> Any:
        time.sleep(0.004)
        return np.zeros(len(frame))

    def worker(frame: Any) -> Any:
        busy(0.004)
        return np.zeros(len(frame))

    frame = pd.DataFrame({"x": range(4)})
    rules = LatencyRules(warmup=0, single_row_calls=10, batch_calls=3, rounds=1)
    cpu = measure_latency({"candidate": sleeper, "baseline": worker}, frame, rules)
    assert cpu["candidate"]["single_row"]["p95"] < 2.0 <= cpu["baseline"]["single_row"]["p95"]
    wall = measure_latency({"candidate": sleeper}, frame, rules.model_copy(update={"clock": "wall"}))
    assert wall["candidate"]["single_row"]["p95"] >= 4.0


def test_a_failing_rule_is_measured_again_and_fails_only_when_confirmed() -> None:
    rules = LatencyRules(max_relative_increase=0.5, warmup=0, single_row_calls=10, batch_calls=3, rounds=1)
    frame = pd.DataFrame({"x": range(4)})
    measurements = {"n": 0}

    def flaky(frame: Any) -> Any:  # slow during the first measurement only (a burst of noise)
        busy(0.003 if measurements["n"] < 13 else 0.0002)
        measurements["n"] += 1
        return np.zeros(len(frame))

    def steady(frame: Any) -> Any:
        busy(0.0005)
        return np.zeros(len(frame))

    latency, checks = latency_gate({"candidate": flaky, "baseline": steady}, frame, rules)
    assert [c.passed for c in checks] == [True, True]
    assert "first measurement" in checks[0].detail  # the report says the first one failed

    def slow(frame: Any) -> Any:  # really slower: fails twice
        busy(0.002)
        return np.zeros(len(frame))

    latency, checks = latency_gate({"candidate": slow, "baseline": steady}, frame, rules)
    assert failed(checks) == ["latency-budget", "latency-budget"]
    assert "confirmed" in checks[0].detail
    assert latency["candidate"]["single_row"]["ratio"] > 1.5

    once = rules.model_copy(update={"confirm": False})
    measurements["n"] = 0
    _, checks = latency_gate({"candidate": flaky, "baseline": steady}, frame, once)
    assert checks[0].passed is False  # without confirmation the burst blocks


def test_confirmed_keeps_passes_and_skips_as_they_are() -> None:
    ok = LatencyCheck("latency single-row", "p95 ≤ 5 ms", True, "", "1 ms")
    skip = LatencyCheck("latency batch", "p95 ≤ baseline + 50%", None, "", "skipped: no baseline")
    bad = LatencyCheck("latency single-row", "p95 ≤ 5 ms", False, "latency-budget", "9 ms")
    assert confirmed([ok, skip], [bad, bad]) == [ok, skip]
    assert confirmed([bad], [bad])[0].passed is False
    assert confirmed([bad], [ok])[0].passed is True
