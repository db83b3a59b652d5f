"""The canary judge at the generated project's own settings: false rollbacks, detection and inconclusive
rollouts, next to the exact-test oracle.

    uv run python benchmarks/canary.py           # every scenario, 300 rollouts each
    uv run python benchmarks/canary.py --quick   # every scenario, 60 rollouts each

Every rollout runs the real `Controller` and judge (`mlgate.canary.controller`, `mlgate.canary.judge`) with
the `canary` section of the template's `mlgate.yaml` (steps, alpha, guards, min_requests, max_inconclusive:
as generated) and its `eval.decision_threshold`, at `bake_seconds: 300` (the template's 20 s is for the
local demo; its comment says 300 or more for real traffic). Only the clock is simulated: the controller's
sleeps advance it, and the metrics source answers each look with the counts Prometheus would give —
requests, 5xx, latency histogram buckets and score histogram buckets per arm since the step started,
drawn in 10-second slices (Poisson requests at the slice's rate and canary share; binomial errors;
multinomial latency and score buckets from the exact bucket probabilities).

Traffic: latency is heavy-tailed — lognormal body (median 40 ms, sigma 0.35) with 3 % of requests from a
Pareto tail (from 80 ms, index 2.5) — recorded in the template service's latency buckets; scores are
Beta(1.2, 12) recorded in its score buckets (positive at 0.2: about 10 % of predictions).

Scenarios: healthy canaries and a 2x error rate at baseline errors 0.1 / 1 / 3 % and 5 / 20 / 100
requests/s; falling traffic (100 -> 5 requests/s over the rollout); a 30-second outage hitting both arms
(every request a 5xx) in the first bake (150-180 s) and one across the first look (290-320 s: 10 s of it
before the look, below the guard); a p95 regression (the whole latency distribution 1.3x slower);
a tail-only regression (tail share 3 % -> 8 %: p99 up, p95 barely); a score shift (Beta(1.2, 8)); and
missing data (the canary's score histogram absent).

Printed per scenario: the share of rollouts promoted, rolled back with the canary blamed (error-rate,
latency, prediction-shift), ended inconclusive (no-data / inconclusive / outage: rolled back without
blame), in which some look reported a shared outage; the blamed count with its exact 95 % upper bound;
for outage scenarios, the blames decided on counts from the outage (a failed check's seconds, from the
judge's report, overlap the outage) apart from those decided on clean traffic only; and for error
scenarios the oracle — the canary requests an exact one-sided
binomial test that *knows* the baseline's rate needs to catch 2x with 95 % power at the rollout's alpha
(one look) — against the canary requests the plan gives at one bake per step.
"""

from __future__ import annotations

import argparse
import ast
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from mlgate.canary.config import CanarySection
from mlgate.canary.controller import CanaryOutcome, Controller
from mlgate.canary.judge import ArmWindow, StepWindow

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
SERVE = TEMPLATE / "src" / "{{cookiecutter.__package_name}}" / "serve.py"
BAKE = 300.0
SLICE = 10.0
BLAMED = ("error-rate", "latency", "prediction-shift")


def template_settings() -> tuple[dict[str, object], float]:
    """The template's `canary` section (bake 300 s) and `eval.decision_threshold`."""
    text = (TEMPLATE / "mlgate.yaml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("{%")]
    raw = yaml.safe_load("\n".join(re.sub(r"\{\{[^}]*\}\}", "x", line) for line in lines))
    section = dict(raw["canary"])
    section["bake_seconds"] = BAKE
    return section, float(raw["eval"]["decision_threshold"])


def template_buckets(name: str) -> tuple[float, ...]:
    """A bucket tuple (`LATENCY_BUCKETS`, `SCORE_BUCKETS`) of the template's service, as written there."""
    tree = ast.parse(SERVE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name for t in node.targets):
            return tuple(float(v) for v in ast.literal_eval(node.value))
    raise SystemExit(f"{SERVE}: no {name}")


LATENCY = template_buckets("LATENCY_BUCKETS")
SCORES = template_buckets("SCORE_BUCKETS")


def latency_cdf(x: np.ndarray, scale: float = 1.0, tail: float = 0.03) -> np.ndarray:
    """Heavy-tailed latency (seconds): lognormal body (median 40 ms, sigma 0.35) + Pareto tail."""
    x = np.asarray(x, dtype=float) / scale
    body = stats.lognorm.cdf(x, 0.35, scale=0.040)
    pareto = np.where(x > 0.080, 1 - (0.080 / np.maximum(x, 1e-12)) ** 2.5, 0.0)
    return np.asarray((1 - tail) * body + tail * pareto)


def bucket_probs(cdf: np.ndarray) -> np.ndarray:
    """Per-bucket probabilities (the last one: above the highest bound) from the CDF at the bounds."""
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


@dataclass(frozen=True)
class Scenario:
    name: str
    base_error: float = 0.01
    rps: float = 20.0
    error_factor: float = 1.0
    latency_scale: float = 1.0
    canary_tail: float = 0.03
    score_b: float = 12.0
    falling: bool = False
    #: a shared outage (every request of both arms a 5xx) from..to these seconds of the rollout
    outage: tuple[float, float] | None = None
    missing_scores: bool = False
    kind: str = "healthy"  # healthy | errors | latency | tail | scores | outage | missing


@dataclass
class Arm:
    error: float
    latency: np.ndarray
    scores: np.ndarray


@dataclass
class Simulation:
    """The metrics source and the traffic router of one simulated rollout, on a simulated clock."""

    s: Scenario
    rng: np.random.Generator
    now: float = 0.0
    weight: float = 0.0
    #: (slice end, baseline counts, canary counts); counts = [requests, errors, latency..., scores...]
    log: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.s
        self.base = Arm(
            s.base_error,
            bucket_probs(latency_cdf(np.array(LATENCY))),
            bucket_probs(stats.beta.cdf(np.array(SCORES[:-1]), 1.2, 12.0)),
        )
        self.can = Arm(
            min(1.0, s.base_error * s.error_factor),
            bucket_probs(latency_cdf(np.array(LATENCY), s.latency_scale, s.canary_tail)),
            bucket_probs(stats.beta.cdf(np.array(SCORES[:-1]), 1.2, s.score_b)),
        )

    # -- the target -----------------------------------------------------------------------------------
    def set_weights(self, canary_percent: float) -> None:
        self.weight = canary_percent

    def read_weights(self) -> float:
        return self.weight

    def describe(self) -> str:
        return "simulation"

    # -- the clock ------------------------------------------------------------------------------------
    def clock(self) -> float:
        return self.now

    def rate(self, t: float) -> float:
        if not self.s.falling:
            return self.s.rps
        return max(5.0, 100.0 * (1 - t / 2400.0) + 5.0 * t / 2400.0)

    def _draw(self, arm: Arm, rps: float, seconds: float, error: float) -> np.ndarray:
        n = int(self.rng.poisson(rps * seconds))
        errors = int(self.rng.binomial(n, min(1.0, error)))
        latency = self.rng.multinomial(n, arm.latency)
        scores = self.rng.multinomial(n - errors, arm.scores)
        return np.concatenate([[n, errors], latency, scores])

    def sleep(self, seconds: float, _cancel: threading.Event) -> bool:
        end = self.now + max(0.0, seconds)
        while self.now < end - 1e-9:
            dt = min(SLICE, end - self.now)
            share = self.weight / 100
            total = self.rate(self.now)
            outage = self.s.outage is not None and self.s.outage[0] <= self.now < self.s.outage[1]
            base = self._draw(self.base, total * (1 - share), dt, 1.0 if outage else self.base.error)
            can = self._draw(self.can, total * share, dt, 1.0 if outage else self.can.error)
            self.now += dt
            self.log.append((self.now, base, can))
        return False

    # -- the metrics source ---------------------------------------------------------------------------
    def _arm(self, counts: np.ndarray, *, missing_scores: bool = False) -> ArmWindow:
        k = len(LATENCY) + 1
        latency = counts[2 : 2 + k]
        scores = counts[2 + k :]
        cumulative = np.cumsum(latency)
        buckets = [*zip(LATENCY, cumulative[:-1].tolist(), strict=True), (math.inf, float(cumulative[-1]))]
        threshold = SCORES.index(self.threshold)
        positives = float(scores[threshold + 1 :].sum())
        return ArmWindow(
            requests=float(counts[0]),
            errors=float(counts[1]),
            latency_buckets=buckets,
            score_counts=None if missing_scores else [float(c) for c in scores],
            positives=None if missing_scores else positives,
        )

    threshold: float = 0.2

    def window(self, seconds: float) -> StepWindow:
        start = self.now - seconds
        base = sum(
            (b for t, b, _ in self.log if t > start + 1e-9), np.zeros(2 + len(LATENCY) + 1 + len(SCORES))
        )
        can = sum((c for t, _, c in self.log if t > start + 1e-9), np.zeros_like(base))
        return StepWindow(self._arm(base), self._arm(can, missing_scores=self.s.missing_scores), seconds)


def outage_in_evidence(outcome: CanaryOutcome, outage: tuple[float, float] | None) -> bool:
    """Whether the look that blamed the canary decided on counts from the outage: a failed check's seconds
    (the judge's report: every step's stratum, or the counts since the previous look) overlap it."""
    if outage is None or outcome.failure_reason not in BLAMED:
        return False
    deciding = [e for e in outcome.timeline if e.action == "analyse" and e.verdict == "fail"]
    if not deciding or deciding[-1].judgement is None:
        return True  # a blame without its report counts against the judge
    return any(
        start < outage[1] and end > outage[0]
        for blamed in deciding[-1].judgement["blamed"]
        for start, end in blamed["seconds"]
    )


def run_rollout(
    plan: CanarySection, s: Scenario, rng: np.random.Generator, threshold: float
) -> tuple[str, str, bool, bool]:
    """(result, failure reason, whether any look reported a shared outage, whether the canary was blamed
    on counts from the outage) of one simulated rollout."""
    sim = Simulation(s, rng)
    sim.threshold = threshold
    controller = Controller(
        plan, sim, sim, clock=sim.clock, sleep=sim.sleep, verify_interval=0.0, verify_attempts=1
    )
    outcome = controller.run()
    outage = any(e.verdict == "outage" for e in outcome.timeline)
    return outcome.result, outcome.failure_reason, outage, outage_in_evidence(outcome, s.outage)


def upper_95(failures: int, n: int) -> float:
    """Exact (Clopper-Pearson) one-sided 95 % upper bound of a rate seen `failures` times in `n`."""
    return 1.0 if failures >= n else float(stats.beta.ppf(0.95, failures + 1, n - failures))


def tally(
    plan: CanarySection, s: Scenario, rng: np.random.Generator, threshold: float, runs: int
) -> tuple[Counter[str], Counter[str]]:
    """`runs` rollouts of one scenario: outcomes (promoted / blamed / inconclusive, outage seen, blamed on
    the outage's counts) and failure reasons."""
    results: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for _ in range(runs):
        result, reason, outage_seen, outage_blamed = run_rollout(plan, s, rng, threshold)
        results["outage seen"] += outage_seen
        results["outage blamed"] += outage_blamed
        if result == "promoted":
            results["promoted"] += 1
        elif reason in BLAMED:
            results["blamed"] += 1
        else:  # no-data, inconclusive, outage: rolled back without blaming the canary
            results["inconclusive"] += 1
        if reason:
            reasons[reason] += 1
    return results, reasons


def oracle_requests(base_error: float, alpha: float, power: float = 0.95) -> int:
    """Smallest canary sample with which an exact one-sided binomial test against the *known* baseline
    rate flags a 2x error rate with `power` at false-positive rate `alpha` (one look)."""
    n = 10
    while True:
        critical = int(stats.binom.isf(alpha, n, base_error)) + 1  # P(X >= critical | base) <= alpha
        if stats.binom.sf(critical - 1, n, 2 * base_error) >= power:
            return n
        n = math.ceil(n * 1.02)


def scenarios() -> list[Scenario]:
    out = []
    for rps in (5.0, 20.0, 100.0):
        for base in (0.001, 0.01, 0.03):
            out.append(Scenario(f"healthy {100 * base:g} % {rps:g} rps", base, rps))
    for rps in (5.0, 20.0, 100.0):
        for base in (0.001, 0.01, 0.03):
            out.append(Scenario(f"2x errors {100 * base:g} % {rps:g} rps", base, rps, 2.0, kind="errors"))
    out += [
        Scenario("healthy, falling 100->5 rps", 0.01, 100.0, falling=True),
        Scenario("2x errors, falling 100->5 rps", 0.01, 100.0, 2.0, falling=True, kind="errors"),
        Scenario("shared 30 s outage 1 % 20 rps", 0.01, 20.0, outage=(150.0, 180.0), kind="outage"),
        Scenario("shared 30 s outage 1 % 100 rps", 0.01, 100.0, outage=(150.0, 180.0), kind="outage"),
        # across the first look: part of it in the evidence before the look that reports it
        Scenario("shared outage across a look 20 rps", 0.01, 20.0, outage=(290.0, 320.0), kind="outage"),
        Scenario("shared outage across a look 100 rps", 0.01, 100.0, outage=(290.0, 320.0), kind="outage"),
        Scenario("healthy 0.5x errors 3 % 20 rps", 0.03, 20.0, 0.5),
    ]
    for rps in (5.0, 20.0, 100.0):
        out.append(Scenario(f"p95 1.3x slower 1 % {rps:g} rps", 0.01, rps, latency_scale=1.3, kind="latency"))
    for rps in (20.0, 100.0):
        out.append(Scenario(f"tail 3->8 % 1 % {rps:g} rps", 0.01, rps, canary_tail=0.08, kind="tail"))
    out += [
        Scenario("score shift 1 % 20 rps", 0.01, 20.0, score_b=8.0, kind="scores"),
        Scenario("canary scores missing 1 % 20 rps", 0.01, 20.0, missing_scores=True, kind="missing"),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 rollouts per scenario")
    parser.add_argument("--runs", type=int, default=None, help="rollouts per scenario")
    parser.add_argument(
        "--only",
        default="",
        help="run only scenarios whose name contains this (or one of these, comma-separated)",
    )
    parser.add_argument("--power", type=float, default=None, help="override canary.analysis.power")
    parser.add_argument("--seed", type=int, default=20261206, help="random seed of the simulation")
    parser.add_argument(
        "--alpha-weights",
        default="",
        help="override canary.analysis.alpha_weights, e.g. error_rate=4,latency_p95=2",
    )
    args = parser.parse_args()
    runs = args.runs or (60 if args.quick else 300)
    section, threshold = template_settings()
    if args.power is not None:
        section["analysis"] = {**dict(section.get("analysis") or {}), "power": args.power}  # type: ignore[dict-item]
    if args.alpha_weights:
        weights = {k: float(v) for k, v in (item.split("=") for item in args.alpha_weights.split(","))}
        section["analysis"] = {**dict(section.get("analysis") or {}), "alpha_weights": weights}  # type: ignore[dict-item]
    plan = CanarySection.model_validate(section)
    shares = sum(plan.analysed_steps) / 100
    started = time.perf_counter()
    bakes = range(1, plan.max_inconclusive + 1)
    levels = "; ".join(
        f"{step:g} %: "
        + ", ".join(
            f"{test} {'/'.join(f'{plan.test_alphas(step, bake)[test]:.2g}' for bake in bakes)}"
            for test in plan.test_alphas(step)
        )
        for step in plan.analysed_steps
    )
    print(
        f"canary judge at the template's settings: steps {plan.steps}, bake {plan.bake_seconds:g} s, alpha "
        f"{plan.analysis.alpha:g} (per test at a look of bake {'/'.join(map(str, bakes))} of each step — "
        f"{levels}), power "
        f"{plan.analysis.power:g}, max_error_rate {plan.analysis.max_error_rate}, min_requests "
        f"{plan.min_requests}, max_inconclusive {plan.max_inconclusive}, decision threshold {threshold:g}; "
        f"{runs} rollouts per scenario"
    )
    print()
    columns = f"{'promoted':>9} {'blamed':>8} {'inconcl.':>9} {'outage':>7}  {'oracle n':>9} {'plan n':>7}"
    print(f"{'scenario':<36} {columns}  reasons")
    rng = np.random.default_rng(args.seed)
    for s in scenarios():
        if args.only and not any(part in s.name for part in args.only.split(",")):
            continue
        results, reasons = tally(plan, s, rng, threshold, runs)
        oracle = plan_n = ""
        if s.kind in ("errors", "healthy") and not s.falling:
            oracle = f"{oracle_requests(s.base_error, plan.analysis.alpha):,}"
            plan_n = f"{s.rps * plan.bake_seconds * shares:,.0f}"
        cells = " ".join(
            f"{100 * results[k] / runs:{w}.1f}%"
            for k, w in (("promoted", 8), ("blamed", 7), ("inconclusive", 8), ("outage seen", 6))
        )
        why = ", ".join(f"{k} {v}" for k, v in reasons.most_common())
        blamed = results["blamed"]
        why += f"; blamed {blamed}/{runs} (95 % upper bound {upper_95(blamed, runs):.2%})"
        if s.outage is not None:
            n_out = results["outage blamed"]
            why += (
                f"; on the outage's counts {n_out}/{runs} (95 % upper bound {upper_95(n_out, runs):.2%}), on "
                f"clean traffic {results['blamed'] - n_out}"
            )
        print(f"{s.name:<36} {cells}  {oracle:>9} {plan_n:>7}  {why}", flush=True)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
