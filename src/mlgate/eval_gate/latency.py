"""The eval gate's latency rule: candidate against champion, measured so that runner noise cannot block.

GitHub-hosted runners and CI machines are shared: other processes take the CPU for whole time slices,
and a model's wall-clock p95 on a loaded 2-core machine can be 5x its p95 on an idle one. The procedure:

1. **Same process, interleaved.** Candidate and baseline calls alternate (order flipped every call), so
   whatever load there is hits both alike. Each model gets `warmup` untimed calls first.
2. **CPU time by default** (`clock: cpu`): each call is timed with the process's CPU clock
   (`time.process_time`, every thread of the process), which does not advance while the process waits
   for a CPU another program holds. On a dedicated serving host a CPU-bound predict call's latency is
   its CPU time; that is what the budgets mean. `clock: wall` times the wall clock instead.
3. **Rounds.** The calls are split into `rounds` rounds; the p95 of each model is taken per round and
   the gate judges the median of the round p95s (absolute budgets) and the median of the per-round
   ratios candidate p95 / baseline p95 (`max_relative_increase`): one disturbed round cannot decide.
4. **Confirmation.** When a latency rule fails, the whole measurement is repeated; the rule fails only
   when the confirmation fails too (the report shows both). A real slowdown fails both; a burst of
   noise rarely hits two measurements.

`benchmarks/eval_gate.py` measures the result under CPU contention it starts itself: false blocks of a
healthy model and blocks of a model that is really 2x slower, at the template's settings.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgate.eval_gate.config import LatencyRules

if TYPE_CHECKING:
    import pandas as pd

MODES = ("single_row", "batch")
#: model -> mode -> statistics (p50/p95/p99/calls in ms of the judged clock, and the judged values)
Latency = dict[str, dict[str, dict[str, float]]]


@dataclass
class LatencyCheck:
    """One latency rule's outcome (the eval gate turns it into its RuleCheck)."""

    subject: str
    rule: str
    #: True pass, False fail, None skipped (no baseline)
    passed: bool | None
    reason: str = ""
    detail: str = ""


def _clock(kind: str) -> Callable[[], float]:
    return time.process_time if kind == "cpu" else time.perf_counter


def summarise(rounds: Sequence[Sequence[float]]) -> dict[str, float]:
    """Percentiles (ms) over every call, and `p95` as the median of the rounds' p95 (what is judged)."""
    import numpy as np

    calls = np.concatenate([np.asarray(r, dtype=float) for r in rounds if len(r)]) * 1000.0
    p50, p95_all, p99 = np.percentile(calls, [50, 95, 99])
    round_p95 = [float(np.percentile(np.asarray(r) * 1000.0, 95)) for r in rounds if len(r)]
    return {
        "p50": float(p50),
        "p95": statistics.median(round_p95),
        "p95_all_calls": float(p95_all),
        "p99": float(p99),
        "calls": float(calls.size),
        "rounds": float(len(round_p95)),
    }


def ratio_of_rounds(cand: Sequence[Sequence[float]], base: Sequence[Sequence[float]]) -> float:
    """Median over rounds of candidate p95 / baseline p95 (both measured in the same round)."""
    import numpy as np

    ratios = [
        float(np.percentile(c, 95) / np.percentile(b, 95))
        for c, b in zip(cand, base, strict=True)
        if len(c) and len(b) and np.percentile(b, 95) > 0
    ]
    return statistics.median(ratios) if ratios else float("nan")


def measure_latency(
    predictors: dict[str, Callable[[Any], Any]], features: pd.DataFrame, rules: LatencyRules
) -> Latency:
    """One measurement: per model and mode the statistics of `summarise`; the candidate's entries also
    carry `ratio` (median over rounds of its p95 over the baseline's) when there is a baseline."""
    names = list(predictors)
    n = len(features)
    rows = [features.iloc[[i % n]] for i in range(min(n, 64))]
    batch = features.iloc[[i % n for i in range(rules.batch_size)]]
    for _ in range(rules.warmup):
        for name in names:
            predictors[name](rows[0])
            predictors[name](batch)
    clock = _clock(rules.clock)
    wall = time.perf_counter
    #: model -> mode -> rounds -> seconds per call
    timings: dict[str, dict[str, list[list[float]]]] = {
        name: {mode: [[] for _ in range(rules.rounds)] for mode in MODES} for name in names
    }
    for mode, calls in (("single_row", rules.single_row_calls), ("batch", rules.batch_calls)):
        deadline = wall() + rules.max_seconds / 2
        for i in range(calls):
            # a very slow model must not hold the job for hours: stop at the time budget (≥ 5 calls each)
            if i >= 5 and wall() > deadline:
                break
            slot = i * rules.rounds // calls  # consecutive calls form a round
            order = names if i % 2 == 0 else names[::-1]
            data = rows[i % len(rows)] if mode == "single_row" else batch
            for name in order:
                start = clock()
                predictors[name](data)
                timings[name][mode][slot].append(clock() - start)
    out: Latency = {
        name: {mode: summarise(rounds) for mode, rounds in modes.items()} for name, modes in timings.items()
    }
    if "candidate" in timings and "baseline" in timings:
        for mode in MODES:
            out["candidate"][mode]["ratio"] = ratio_of_rounds(
                timings["candidate"][mode], timings["baseline"][mode]
            )
    return out


def judge_latency(
    rules: LatencyRules, cand: dict[str, dict[str, float]], base: dict[str, dict[str, float]] | None
) -> list[LatencyCheck]:
    """The absolute budgets on the candidate's p95 and the relative rule on its p95 ratio to the baseline
    (`ratio` when measured in rounds, else the ratio of the two p95)."""
    checks: list[LatencyCheck] = []
    unit = "CPU ms" if rules.clock == "cpu" else "ms"
    for mode, budget in (("single_row", rules.single_row_p95_ms), ("batch", rules.batch_p95_ms)):
        subject = f"latency {mode.replace('_', '-')}"
        p95 = cand[mode]["p95"]
        if budget is not None:
            ok = p95 <= budget
            checks.append(
                LatencyCheck(
                    subject,
                    f"p95 ≤ {budget:g} ms",
                    ok,
                    "" if ok else "latency-budget",
                    f"candidate p95 {p95:.2f} {unit}",
                )
            )
        if rules.max_relative_increase is not None:
            text = f"p95 ≤ baseline + {rules.max_relative_increase:.0%}"
            if base is None:
                checks.append(LatencyCheck(subject, text, None, "", "skipped: no baseline"))
                continue
            ratio = cand[mode].get("ratio")
            if ratio is None:
                ratio = p95 / base[mode]["p95"] if base[mode]["p95"] > 0 else float("nan")
            ok = ratio <= 1 + rules.max_relative_increase  # NaN fails
            checks.append(
                LatencyCheck(
                    subject,
                    text,
                    ok,
                    "" if ok else "latency-budget",
                    f"candidate p95 {p95:.2f} {unit} = {ratio:.2f}x the baseline's {base[mode]['p95']:.2f}",
                )
            )
    return checks


def confirmed(first: list[LatencyCheck], second: list[LatencyCheck]) -> list[LatencyCheck]:
    """A rule fails only when it fails on both measurements; the detail says what each one found."""
    out: list[LatencyCheck] = []
    for a, b in zip(first, second, strict=True):
        if a.passed is not False:
            out.append(a)
        elif b.passed is False:
            out.append(LatencyCheck(a.subject, a.rule, False, a.reason, f"{a.detail}; confirmed: {b.detail}"))
        else:
            out.append(
                LatencyCheck(a.subject, a.rule, True, "", f"{b.detail} (first measurement: {a.detail})")
            )
    return out


def latency_gate(
    predictors: dict[str, Callable[[Any], Any]], features: pd.DataFrame, rules: LatencyRules
) -> tuple[Latency, list[LatencyCheck]]:
    """Measure, judge and, when a rule fails and `confirm` is on, measure again before failing. Returns
    the measurement the verdict rests on (the confirmation's when there was one) and the checks."""
    latency = measure_latency(predictors, features, rules)
    checks = judge_latency(rules, latency["candidate"], latency.get("baseline"))
    if rules.confirm and any(c.passed is False for c in checks):
        again = measure_latency(predictors, features, rules)
        checks = confirmed(checks, judge_latency(rules, again["candidate"], again.get("baseline")))
        latency = again
    return latency, checks
