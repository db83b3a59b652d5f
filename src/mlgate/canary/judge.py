"""Judge one canary step: the canary against the baseline serving over the same window.

Signals and how each can fail (a step fails when any judged signal fails):

- error-rate: an exact one-sided conditional binomial test (canary errors given all errors, the rates
  being Poisson) of "canary rate > tolerance x baseline rate"; plus an absolute guard `max_error_rate`
  (judged once the canary has `min_requests`), like Flagger's success-rate check.
- latency: p95 and p99 of the canary above `latency_max_ratio` x the baseline's *and* above it by
  `latency_min_delta_ms`; a quantile is judged only when the canary has at least 20 requests in that tail
  (400 for p95, 2,000 for p99); plus an absolute guard `max_p99_ms`.
- prediction-shift: PSI of the prediction-score histograms above `psi_max` *and* a two-sample KS test
  (on the binned distributions, asymptotic) significant.
- positive-rate: |canary - baseline| positive-prediction rate above `positive_rate_max_delta` *and* a
  two-proportion z-test significant.

False rollbacks across repeated looks: each statistical test runs at `alpha / (looks x tests)` where
`looks = analysed steps x max_inconclusive x looks per bake` is the most looks a rollout can take and
`tests` the statistical tests per look among the judged signals (error rate, prediction shift, positive
rate: at most 3) — Bonferroni — so a healthy canary is rolled back by the tests with probability ≤ `alpha`.

No traffic in either arm, NaN, or a missing metric for a judged signal is Inconclusive — never a pass.
A step passes only when every judged signal passes and both arms have `min_requests`; a statistically
significant failure may be declared earlier (the tests account for the sample size).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mlgate.canary.config import ALL_SIGNALS, AnalysisSettings

Verdict = Literal["pass", "fail", "inconclusive"]
CheckStatus = Literal["pass", "fail", "inconclusive", "skipped"]

#: signals judged by a statistical test (the others are effect-size thresholds) — the Bonferroni divisor
TESTED_SIGNALS = ("error-rate", "prediction-shift", "positive-rate")
TESTS_PER_LOOK = len(TESTED_SIGNALS)
#: requests needed in a tail before its quantile is judged
TAIL_REQUESTS = 20
#: which failure reason each signal reports
SIGNAL_REASON = {
    "error-rate": "error-rate",
    "latency": "latency",
    "prediction-shift": "prediction-shift",
    "positive-rate": "prediction-shift",
}


@dataclass(frozen=True)
class ArmWindow:
    """What one arm (baseline or canary) served in the window. `None` means the metric is missing."""

    requests: float | None = None
    errors: float | None = None
    #: quantile (0.95, 0.99) -> latency in milliseconds
    latency_ms: Mapping[float, float | None] = field(default_factory=dict)
    #: prediction-score counts per bin; both arms use the same bins
    score_counts: Sequence[float] | None = None
    positives: float | None = None


@dataclass(frozen=True)
class StepWindow:
    baseline: ArmWindow
    canary: ArmWindow
    seconds: float = 0.0


@dataclass
class Check:
    signal: str
    status: CheckStatus
    baseline: str = ""
    canary: str = ""
    threshold: str = ""
    p_value: float | None = None
    note: str = ""


@dataclass
class StepJudgement:
    verdict: Verdict
    reason: str  # a failure reason when failed, "no-data" when inconclusive, "" when passed
    why: str
    checks: list[Check]
    alpha_per_test: float

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "why": self.why,
            "alpha_per_test": self.alpha_per_test,
            "checks": [asdict(check) for check in self.checks],
        }


def alpha_per_test(
    alpha: float,
    analysed_steps: int,
    max_inconclusive: int,
    looks_per_bake: int = 1,
    tests_per_look: int = TESTS_PER_LOOK,
) -> float:
    """Bonferroni share of `alpha` for one test at one look: the most looks a rollout can take is
    analysed steps x bakes per step (max_inconclusive) x looks per bake, each running `tests_per_look`
    statistical tests (error rate, prediction shift, positive rate: those among the judged signals)."""
    looks = max(1, analysed_steps) * max(1, max_inconclusive) * max(1, looks_per_bake)
    return alpha / (looks * max(1, tests_per_look))


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def error_rate_p_value(
    canary_errors: int, canary_n: int, baseline_errors: int, baseline_n: int, tolerance: float = 1.0
) -> float:
    """P(canary errors ≥ observed | errors split as if canary rate = tolerance x baseline rate)."""
    from scipy import stats

    total = canary_errors + baseline_errors
    if total == 0 or canary_n == 0 or baseline_n == 0:
        return 1.0
    share = canary_n * tolerance / (canary_n * tolerance + baseline_n)
    return float(stats.binom.sf(canary_errors - 1, total, share))


def psi(baseline_counts: Sequence[float], canary_counts: Sequence[float], epsilon: float = 1e-4) -> float:
    """Population stability index between two histograms over the same bins."""
    b_total, c_total = sum(baseline_counts), sum(canary_counts)
    value = 0.0
    for b, c in zip(baseline_counts, canary_counts, strict=True):
        bp = max(b / b_total, epsilon)
        cp = max(c / c_total, epsilon)
        value += (cp - bp) * math.log(cp / bp)
    return value


def binned_ks_p_value(
    baseline_counts: Sequence[float], canary_counts: Sequence[float]
) -> tuple[float, float]:
    """(D, p) of a two-sample KS test on binned data (asymptotic; binning makes it conservative)."""
    from scipy import stats

    b_total, c_total = sum(baseline_counts), sum(canary_counts)
    d = 0.0
    b_cum = c_cum = 0.0
    for b, c in zip(baseline_counts, canary_counts, strict=True):
        b_cum += b
        c_cum += c
        d = max(d, abs(b_cum / b_total - c_cum / c_total))
    n_eff = b_total * c_total / (b_total + c_total)
    return d, float(stats.kstwobign.sf(d * math.sqrt(n_eff)))


def two_proportion_p_value(x1: float, n1: float, x2: float, n2: float) -> float:
    from scipy import stats

    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return float(2 * stats.norm.sf(abs(z)))


def _judge_error_rate(
    base: ArmWindow,
    can: ArmWindow,
    n: tuple[float, float],
    s: AnalysisSettings,
    alpha: float,
    *,
    enough: bool,
) -> Check:
    if _missing(base.errors) or _missing(can.errors):
        return Check("error-rate", "inconclusive", note="error count missing or NaN")
    bn, cn = round(n[0]), round(n[1])
    be, ce = min(round(base.errors or 0), bn), min(round(can.errors or 0), cn)
    b_rate, c_rate = be / bn, ce / cn
    p = error_rate_p_value(ce, cn, be, bn, s.error_rate_tolerance)
    check = Check(
        "error-rate",
        "pass",
        baseline=f"{_pct(b_rate)} ({be}/{bn})",
        canary=f"{_pct(c_rate)} ({ce}/{cn})",
        threshold=f"p < {alpha:.2g} (x{s.error_rate_tolerance:g})",
        p_value=p,
    )
    if p < alpha:
        check.status = "fail"
        check.note = "canary error rate significantly above the baseline's"
    elif s.max_error_rate is not None and enough and c_rate > s.max_error_rate:
        check.status = "fail"
        check.note = f"canary error rate above the absolute guard {_pct(s.max_error_rate)}"
    return check


def _judge_latency(
    base: ArmWindow, can: ArmWindow, n: tuple[float, float], s: AnalysisSettings
) -> list[Check]:
    checks: list[Check] = []
    for q, label in ((0.95, "p95"), (0.99, "p99")):
        b, c = base.latency_ms.get(q), can.latency_ms.get(q)
        if b is None or c is None or _missing(b) or _missing(c):
            checks.append(Check(f"latency {label}", "inconclusive", note=f"{label} latency missing or NaN"))
            continue
        check = Check(
            f"latency {label}",
            "pass",
            baseline=f"{b:.1f} ms",
            canary=f"{c:.1f} ms",
            threshold=f"≤ x{s.latency_max_ratio:g} or +{s.latency_min_delta_ms:g} ms",
        )
        tail_needed = TAIL_REQUESTS / (1 - q)
        if label == "p99" and s.max_p99_ms is not None and c > s.max_p99_ms and n[1] >= tail_needed:
            check.status = "fail"
            check.note = f"canary p99 above the absolute guard {s.max_p99_ms:g} ms"
        elif n[1] < tail_needed:
            check.status = "skipped"
            check.note = f"fewer than {tail_needed:.0f} canary requests: too few to judge {label}"
        elif c > b * s.latency_max_ratio and c - b > s.latency_min_delta_ms:
            check.status = "fail"
            check.note = (
                f"canary {label} {c / b:.2f}x the baseline's" if b > 0 else f"canary {label} above baseline"
            )
        checks.append(check)
    return checks


def _judge_prediction_shift(base: ArmWindow, can: ArmWindow, s: AnalysisSettings, alpha: float) -> Check:
    bc, cc = base.score_counts, can.score_counts
    if bc is None or cc is None or len(bc) != len(cc) or not bc or any(_missing(v) for v in [*bc, *cc]):
        return Check(
            "prediction-shift", "inconclusive", note="prediction-score histogram missing, NaN or bins differ"
        )
    if sum(bc) <= 0 or sum(cc) <= 0:
        return Check("prediction-shift", "inconclusive", note="no prediction scores in one arm")
    value = psi(bc, cc)
    d, p = binned_ks_p_value(bc, cc)
    check = Check(
        "prediction-shift",
        "pass",
        baseline=f"{sum(bc):.0f} scores",
        canary=f"PSI {value:.3f}, KS D {d:.3f}",
        threshold=f"PSI ≤ {s.psi_max:g} or KS p ≥ {alpha:.2g}",
        p_value=p,
    )
    if value > s.psi_max and p < alpha:
        check.status = "fail"
        check.note = "prediction-score distribution shifted from the baseline's"
    return check


def _judge_positive_rate(
    base: ArmWindow, can: ArmWindow, n: tuple[float, float], s: AnalysisSettings, alpha: float
) -> Check:
    if base.positives is None or can.positives is None or _missing(base.positives) or _missing(can.positives):
        return Check("positive-rate", "inconclusive", note="positive-prediction count missing or NaN")
    b_rate, c_rate = base.positives / n[0], can.positives / n[1]
    p = two_proportion_p_value(can.positives, n[1], base.positives, n[0])
    check = Check(
        "positive-rate",
        "pass",
        baseline=_pct(b_rate),
        canary=_pct(c_rate),
        threshold=f"|Δ| ≤ {_pct(s.positive_rate_max_delta)} or p ≥ {alpha:.2g}",
        p_value=p,
    )
    if abs(c_rate - b_rate) > s.positive_rate_max_delta and p < alpha:
        check.status = "fail"
        check.note = "positive-prediction rate differs from the baseline's"
    return check


def judge_canary_step(
    window: StepWindow,
    settings: AnalysisSettings,
    *,
    min_requests: int,
    alpha_test: float,
) -> StepJudgement:
    """Compare canary with baseline over one window; see the module docstring for the rules."""
    base, can = window.baseline, window.canary
    if base.requests is None or can.requests is None or _missing(base.requests) or _missing(can.requests):
        return StepJudgement("inconclusive", "no-data", "request counts missing or NaN", [], alpha_test)
    n = (base.requests, can.requests)
    if base.requests < 1 or can.requests < 1:
        arm = "canary" if can.requests < 1 else "baseline"
        return StepJudgement(
            "inconclusive",
            "no-data",
            f"no traffic reached the {arm}",
            [Check("traffic", "inconclusive", baseline=f"{base.requests:.0f}", canary=f"{can.requests:.0f}")],
            alpha_test,
        )
    enough = base.requests >= min_requests and can.requests >= min_requests
    checks: list[Check] = [
        Check(
            "traffic",
            "pass" if enough else "inconclusive",
            baseline=f"{base.requests:.0f} req",
            canary=f"{can.requests:.0f} req",
            threshold=f"≥ {min_requests} each",
            note="" if enough else "too few requests to pass yet",
        )
    ]
    for signal in settings.signals or ALL_SIGNALS:
        if signal == "error-rate":
            checks.append(_judge_error_rate(base, can, n, settings, alpha_test, enough=enough))
        elif signal == "latency":
            checks.extend(_judge_latency(base, can, n, settings))
        elif signal == "prediction-shift":
            checks.append(_judge_prediction_shift(base, can, settings, alpha_test))
        elif signal == "positive-rate":
            checks.append(_judge_positive_rate(base, can, n, settings, alpha_test))
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        first = failed[0].signal.split()[0]
        why = "; ".join(f"{c.signal}: {c.note}" for c in failed)
        return StepJudgement("fail", SIGNAL_REASON[first], why, checks, alpha_test)
    pending = [c for c in checks if c.status == "inconclusive"]
    if pending:
        why = "; ".join(f"{c.signal}: {c.note}" for c in pending)
        return StepJudgement("inconclusive", "no-data", why, checks, alpha_test)
    return StepJudgement("pass", "", "every judged signal within bounds", checks, alpha_test)
