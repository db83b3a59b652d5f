"""Judge a canary look: the canary against the baseline serving at the same time, on the counts Prometheus
(or CloudWatch) really gives — request and 5xx counters, latency histogram buckets, score histogram
buckets — accumulated since the rollout started, one stratum per step (see `mlgate.canary.stats`).

Signals, and how each fails (any failing signal rolls back):

- error-rate: a stratified exact one-sided test (Fisher's, conditional per step) of "canary error odds >
  `error_rate_tolerance` x the baseline's".
- latency: at p95 and p99, the share of canary requests above the baseline's quantile bucket boundary E
  against the share of baseline requests above E - `latency_min_delta_ms` (the largest bucket boundary at
  or below it): the same stratified exact test. Under "the canary is at most `latency_min_delta_ms` slower"
  the canary's share above E cannot exceed the baseline's share above that lower boundary. p99 is judged
  once the canary has 500 requests (5 expected in its tail).
- prediction-shift: PSI of the score histograms above `psi_max` *and* a binned two-sample KS test
  significant.
- positive-rate: positive predictions at the decision threshold over successful predictions (the score
  histogram's count), stratified exact two-sided test significant *and* the rates more than
  `positive_rate_max_delta` apart.
- absolute guards, on the counts since the previous look: the canary's 5xx rate significantly above
  `max_error_rate` (exact binomial) while the baseline's is clearly below it fails the canary; the
  baseline at or above the guard too is a shared **outage**: the look is an outage, not the canary's
  fault, and the rollout holds. Both arms breaching together is never evidence against the canary: at an
  outage look no check blames it (a check that failed there is reported as held, and the controller
  drops the outage's counts, so the next looks judge the canary on traffic after it). The same for p99
  with `max_p99_ms` (the share above it against 1 %).

Every check says which counts it judged (`Check.window`): `evidence` (every step's stratum so far, the
tests against the baseline) or `recent` (the counts since the previous look, the guards); the controller
turns that into the seconds of the rollout a failure was decided on.

Every statistical test runs at its own level `alphas[test]` = `alpha` / (most looks) x the test's share of
a look (`alpha_weights`, see `mlgate.canary.config.alpha_shares`) — Bonferroni over a bounded number of
looks and tests — so a healthy canary is rolled back by the judge with probability ≤ `alpha` over the
whole rollout, however the evidence accumulates.

Power before pass: a step passes only when every judged signal passes, both arms have `min_requests` in
the step, and the data *rule out* the regressions the canary must be able to detect, each at `beta_look`:
odds `error_rate_regression` x the baseline's (the lower tail of the same test with that odds ratio) or
an error rate of `error_rate_min_delta` (exact binomial; each way at `beta_look` / 2), and
p95 latency `latency_max_ratio` x (or `latency_min_delta_ms` +) the baseline's (the canary's share above
E significantly below the baseline's share above E / ratio). Otherwise the look is inconclusive — never a
pass. A canary with exactly those regressions passes a step's last look with probability ≤ `beta_look`.

No traffic, NaN, a missing metric, or counts that cannot be right (negative, errors above requests,
positives above predictions) make the look inconclusive, never a pass and never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from mlgate.canary import stats
from mlgate.canary.config import ALL_SIGNALS, AnalysisSettings
from mlgate.data.statistics import psi

Verdict = Literal["pass", "fail", "inconclusive", "outage"]
CheckStatus = Literal["pass", "fail", "inconclusive", "skipped", "outage"]

#: canary requests before p99 is judged (5 expected in its tail)
P99_MIN_REQUESTS = 500
#: which failure reason each signal reports
SIGNAL_REASON = {
    "error-rate": "error-rate",
    "latency": "latency",
    "prediction-shift": "prediction-shift",
    "positive-rate": "prediction-shift",
}
#: the baseline is "clearly below" an absolute guard when its rate is below it at this level
GUARD_BASELINE_LEVEL = 0.05

#: (upper bound in seconds, cumulative count) pairs, +Inf last
Buckets = Sequence[tuple[float, float]]
#: test name -> its level at this look (`CanarySection.test_alphas`)
Alphas = Mapping[str, float]


@dataclass(frozen=True)
class ArmWindow:
    """What one arm (baseline or canary) served in a window. `None` means the metric is missing."""

    requests: float | None = None
    errors: float | None = None
    #: latency histogram: (upper bound in seconds, cumulative count), +Inf last
    latency_buckets: Buckets | None = None
    #: prediction-score counts per bin (successful predictions); both arms use the same bins
    score_counts: Sequence[float] | None = None
    #: successful predictions at or above the decision threshold
    positives: float | None = None

    def minus(self, earlier: ArmWindow) -> ArmWindow:
        """The counts between an earlier window (same start) and this one."""

        def sub(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else a - b

        latency = None
        if self.latency_buckets is not None and earlier.latency_buckets is not None:
            before = dict(earlier.latency_buckets)
            latency = [(le, count - before.get(le, 0.0)) for le, count in self.latency_buckets]
        scores = None
        if (
            self.score_counts is not None
            and earlier.score_counts is not None
            and len(self.score_counts) == len(earlier.score_counts)
        ):
            scores = [a - b for a, b in zip(self.score_counts, earlier.score_counts, strict=True)]
        return ArmWindow(
            sub(self.requests, earlier.requests),
            sub(self.errors, earlier.errors),
            latency,
            scores,
            sub(self.positives, earlier.positives),
        )


@dataclass(frozen=True)
class StepWindow:
    baseline: ArmWindow
    canary: ArmWindow
    seconds: float = 0.0

    def minus(self, earlier: StepWindow) -> StepWindow:
        return StepWindow(
            self.baseline.minus(earlier.baseline),
            self.canary.minus(earlier.canary),
            self.seconds - earlier.seconds,
        )


@dataclass
class Check:
    signal: str
    status: CheckStatus
    baseline: str = ""
    canary: str = ""
    threshold: str = ""
    p_value: float | None = None
    note: str = ""
    #: the counts judged: "evidence" (every step's stratum so far) or "recent" (since the previous look)
    window: str = "evidence"


@dataclass
class StepJudgement:
    verdict: Verdict
    #: a failure reason when failed; "outage" for a shared outage; "no-data" (missing or impossible data)
    #: or "inconclusive" (not enough evidence yet) when inconclusive; "" when passed
    reason: str
    why: str
    checks: list[Check]
    #: each judged test's level at this look
    alphas: dict[str, float]
    beta_per_look: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "why": self.why,
            "alphas": self.alphas,
            "beta_per_look": self.beta_per_look,
            "checks": [asdict(check) for check in self.checks],
        }


class BadDataError(ValueError):
    """A metric is missing or its counts cannot be right: the look is inconclusive (`no-data`)."""


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def _count(value: float | None, what: str) -> int:
    if value is None or not math.isfinite(value):
        raise BadDataError(f"{what} missing or NaN")
    if value < -0.5:
        raise BadDataError(f"{what} negative ({value:g}): a counter reset or a broken exporter")
    return max(0, round(value))


def _arm_counts(arm: ArmWindow, what: str) -> tuple[int, int]:
    n = _count(arm.requests, f"{what} request count")
    errors = _count(arm.errors, f"{what} error count")
    if errors > n:
        raise BadDataError(f"{what} errors ({errors}) above its requests ({n})")
    return errors, n


def _cumulative(buckets: Buckets | None, what: str) -> tuple[list[float], list[int]]:
    """Finite bucket bounds and cumulative counts (monotonic, like PromQL), the +Inf count last."""
    if not buckets:
        raise BadDataError(f"{what} histogram missing")
    ordered = sorted(buckets)
    if ordered[-1][0] != math.inf:
        raise BadDataError(f"{what} histogram has no +Inf bucket")
    counts: list[int] = []
    for _, value in ordered:
        counts.append(max(_count(value, f"{what} bucket"), counts[-1] if counts else 0))
    return [le for le, _ in ordered[:-1]], counts


# -- signals -------------------------------------------------------------------------------------------
def _error_rate(strata: Sequence[StepWindow], s: AnalysisSettings, alphas: Alphas, beta: float) -> Check:
    alpha = alphas["error-rate"]
    counts = []
    for w in strata:
        ce, cn = _arm_counts(w.canary, "canary")
        be, bn = _arm_counts(w.baseline, "baseline")
        counts.append((ce, cn, be, bn))
    ce, cn = sum(c[0] for c in counts), sum(c[1] for c in counts)
    be, bn = sum(c[2] for c in counts), sum(c[3] for c in counts)
    b_rate = be / bn if bn else 0.0
    tol = s.error_rate_tolerance
    # a rate ratio `tol` is an odds ratio slightly above it: test the odds ratio the ratio implies
    tol_odds = tol * (1 - b_rate) / (1 - tol * b_rate) if tol * b_rate < 1 else math.inf
    upper, _ = stats.stratified_tails(counts, math.log(tol_odds)) if math.isfinite(tol_odds) else (1.0, 1.0)
    # rule out "canary >= max(regression x baseline, baseline + min delta)": either the canary's odds are
    # significantly below regression x the baseline's, or its rate is significantly below min delta
    # (each at beta / 2, so a canary with the regression passes with probability <= beta). When the
    # baseline's rate is surely (lower bound at 0.001) high enough that regression x it exceeds it by min
    # delta anyway, the first alone decides, at beta (that certainty adds at most 0.001 to the bound).
    _, ruled_out = stats.stratified_tails(counts, math.log(s.error_rate_regression))
    if s.error_rate_min_delta > 0:
        floor = (s.error_rate_regression - 1) * stats.rate_lower_bound(be, bn, 0.001)
        if floor < s.error_rate_min_delta:
            ruled_out = min(1.0, 2 * min(ruled_out, stats.binomial_below(ce, cn, s.error_rate_min_delta)))
    check = Check(
        "error-rate",
        "pass",
        baseline=f"{_pct(b_rate)} ({be}/{bn})",
        canary=f"{_pct(ce / cn if cn else 0.0)} ({ce}/{cn})",
        threshold=f"p < {alpha:.2g} fails; x{s.error_rate_regression:g} ruled out at p < {beta:.2g} passes",
        p_value=upper,
    )
    if upper < alpha:
        check.status = "fail"
        check.note = "canary error rate significantly above the baseline's"
    elif ruled_out >= beta:
        check.status = "inconclusive"
        check.note = (
            f"not enough evidence yet to rule out x{s.error_rate_regression:g} errors (p {ruled_out:.2g})"
        )
    return check


def _index_at_or_below(edges: Sequence[float], value: float) -> int | None:
    """Index of the largest bucket bound <= value (None: every bound is above it)."""
    found = None
    for i, le in enumerate(edges):
        if le <= value + 1e-12:
            found = i
    return found


def _above(cum: list[int], index: int | None) -> int:
    """Requests above bound `index` (None: above 0, i.e. all of them)."""
    return cum[-1] - (cum[index] if index is not None else 0)


def _latency(strata: Sequence[StepWindow], s: AnalysisSettings, alphas: Alphas, beta: float) -> list[Check]:
    arms = []
    edges: list[float] | None = None
    for w in strata:
        b_edges, b_cum = _cumulative(w.baseline.latency_buckets, "baseline latency")
        c_edges, c_cum = _cumulative(w.canary.latency_buckets, "canary latency")
        if b_edges != c_edges or (edges is not None and edges != b_edges):
            raise BadDataError("latency histogram bucket bounds differ between arms or steps")
        edges = b_edges
        arms.append((b_cum, c_cum))
    if edges is None:
        raise BadDataError("no latency histogram")
    base_total = sum(b[-1] for b, _ in arms)
    can_total = sum(c[-1] for _, c in arms)
    if base_total <= 0 or can_total <= 0:
        raise BadDataError("no latency observations in one arm")
    delta = s.latency_min_delta_ms / 1000
    checks = []
    for q, label in ((0.95, "p95"), (0.99, "p99")):
        name = f"latency {label}"
        alpha = alphas[name]
        pooled = [sum(b[i] for b, _ in arms) for i in range(len(edges))]
        j = next((i for i, count in enumerate(pooled) if count >= q * base_total), None)
        if j is None:
            checks.append(
                Check(name, "inconclusive", note=f"baseline {label} above the highest bucket bound")
            )
            continue
        bound = edges[j]
        i = _index_at_or_below(edges, bound - delta) if delta > 0 else j
        check = Check(
            name,
            "pass",
            baseline=f"{_pct(sum(_above(b, j) for b, _ in arms) / base_total)} above {1000 * bound:g} ms",
            canary=f"{_pct(sum(_above(c, j) for _, c in arms) / can_total)} above {1000 * bound:g} ms",
            threshold=f"+{s.latency_min_delta_ms:g} ms at p < {alpha:.2g}",
        )
        if label == "p99" and can_total < P99_MIN_REQUESTS:
            check.status = "skipped"
            check.note = f"fewer than {P99_MIN_REQUESTS} canary requests: too few to see p99"
            checks.append(check)
            continue
        if i is not None:  # below the first bound the floor covers every latency: nothing can fail
            upper, _ = stats.stratified_tails([(_above(c, j), c[-1], _above(b, i), b[-1]) for b, c in arms])
            check.p_value = upper
            if upper < alpha:
                check.status = "fail"
                check.note = (
                    f"canary significantly more than {s.latency_min_delta_ms:g} ms slower at {label}: "
                    f"{_pct(sum(_above(c, j) for _, c in arms) / can_total)} of its requests above "
                    f"{1000 * bound:g} ms, baseline {_pct(sum(_above(b, i) for b, _ in arms) / base_total)} "
                    f"above {1000 * edges[i]:g} ms"
                )
                checks.append(check)
                continue
        if label == "p95":
            # rule out the tolerance: canary >= max(ratio x, +delta) the baseline would put at least the
            # baseline's share above min(E / ratio, E - delta) of its requests above E
            target = min(bound / s.latency_max_ratio, bound - delta)
            k = next((n for n, le in enumerate(edges) if le >= target - 1e-12), j)
            _, ruled_out = stats.stratified_tails(
                [(_above(c, j), c[-1], _above(b, k), b[-1]) for b, c in arms]
            )
            check.threshold += f"; x{s.latency_max_ratio:g} ruled out at p < {beta:.2g}"
            if ruled_out >= beta:
                check.status = "inconclusive"
                check.note = (
                    f"not enough evidence yet to rule out x{s.latency_max_ratio:g} at p95 (p {ruled_out:.2g})"
                )
        checks.append(check)
    return checks


def _bins(arm: ArmWindow, what: str) -> list[int]:
    if arm.score_counts is None or not arm.score_counts:
        raise BadDataError(f"{what} prediction-score histogram missing")
    return [_count(v, f"{what} score bucket") for v in arm.score_counts]


def _prediction_shift(strata: Sequence[StepWindow], s: AnalysisSettings, alphas: Alphas) -> Check:
    alpha = alphas["prediction-shift"]
    base: list[int] = []
    can: list[int] = []
    for w in strata:
        b, c = _bins(w.baseline, "baseline"), _bins(w.canary, "canary")
        if len(b) != len(c) or (base and len(base) != len(b)):
            raise BadDataError("score histogram bins differ between arms or steps")
        base = [x + y for x, y in zip(base or [0] * len(b), b, strict=True)]
        can = [x + y for x, y in zip(can or [0] * len(c), c, strict=True)]
    if sum(base) <= 0 or sum(can) <= 0:
        return Check("prediction-shift", "inconclusive", note="no prediction scores in one arm")
    value = psi(base, can)
    d, p = stats.binned_ks(base, can)
    check = Check(
        "prediction-shift",
        "pass",
        baseline=f"{sum(base)} scores",
        canary=f"{sum(can)} scores: PSI {value:.3f}, KS D {d:.3f}",
        threshold=f"PSI ≤ {s.psi_max:g} or KS p ≥ {alpha:.2g}",
        p_value=p,
    )
    if value > s.psi_max and p < alpha:
        check.status = "fail"
        check.note = "prediction-score distribution shifted from the baseline's"
    return check


def _positive_rate(strata: Sequence[StepWindow], s: AnalysisSettings, alphas: Alphas) -> Check:
    alpha = alphas["positive-rate"]
    counts = []
    for w in strata:
        row = []
        for arm, what in ((w.canary, "canary"), (w.baseline, "baseline")):
            predictions = sum(_bins(arm, what))
            positives = _count(arm.positives, f"{what} positive-prediction count")
            if positives > predictions:
                raise BadDataError(
                    f"{what} positives ({positives}) above its successful predictions ({predictions})"
                )
            row += [positives, predictions]
        counts.append((row[0], row[1], row[2], row[3]))
    cp, cn = sum(c[0] for c in counts), sum(c[1] for c in counts)
    bp, bn = sum(c[2] for c in counts), sum(c[3] for c in counts)
    if cn <= 0 or bn <= 0:
        return Check("positive-rate", "inconclusive", note="no successful predictions in one arm")
    upper, lower = stats.stratified_tails(counts)
    p = min(1.0, 2 * min(upper, lower))
    c_rate, b_rate = cp / cn, bp / bn
    check = Check(
        "positive-rate",
        "pass",
        baseline=f"{_pct(b_rate)} ({bp}/{bn})",
        canary=f"{_pct(c_rate)} ({cp}/{cn})",
        threshold=f"|Δ| ≤ {_pct(s.positive_rate_max_delta)} or p ≥ {alpha:.2g}",
        p_value=p,
    )
    if abs(c_rate - b_rate) > s.positive_rate_max_delta and p < alpha:
        check.status = "fail"
        check.note = "positive-prediction rate differs from the baseline's"
    return check


def _guards(recent: StepWindow, s: AnalysisSettings, alphas: Alphas, signals: Sequence[str]) -> list[Check]:
    """Absolute guards on the counts since the previous look: canary alone -> fail, both -> outage."""
    checks = []
    if s.max_error_rate is not None and "error-rate" in signals:
        guard, alpha = s.max_error_rate, alphas["error-rate guard"]
        ce, cn = _arm_counts(recent.canary, "canary")
        be, bn = _arm_counts(recent.baseline, "baseline")
        p = stats.binomial_above(ce, cn, guard)
        baseline_clear = stats.binomial_below(be, bn, guard) < GUARD_BASELINE_LEVEL
        check = Check(
            "error-rate guard",
            "pass",
            baseline=f"{_pct(be / bn) if bn else '-'} ({be}/{bn})",
            canary=f"{_pct(ce / cn) if cn else '-'} ({ce}/{cn})",
            threshold=f"≤ {_pct(guard)} (p < {alpha:.2g}) since the previous look",
            p_value=p,
            window="recent",
        )
        if bn and not baseline_clear and (p < alpha or be / bn >= guard):
            check.status = "outage"
            check.note = f"both arms at or above {_pct(guard)}: a shared outage, not the canary's fault"
        elif p < alpha:
            check.status = "fail"
            check.note = f"canary error rate significantly above the absolute guard {_pct(guard)}"
        checks.append(check)
    if s.max_p99_ms is not None and "latency" in signals:
        b_edges, b_cum = _cumulative(recent.baseline.latency_buckets, "baseline latency")
        c_edges, c_cum = _cumulative(recent.canary.latency_buckets, "canary latency")
        limit, alpha = s.max_p99_ms / 1000, alphas["latency p99 guard"]
        k = next((n for n, le in enumerate(c_edges) if le >= limit - 1e-12), None)
        if k is None or b_edges != c_edges:
            checks.append(
                Check(
                    "latency p99 guard",
                    "inconclusive",
                    note="no bucket bound at or above the guard",
                    window="recent",
                )
            )
            return checks
        c_above, b_above = _above(c_cum, k), _above(b_cum, k)
        p = stats.binomial_above(c_above, c_cum[-1], 0.01)
        baseline_clear = stats.binomial_below(b_above, b_cum[-1], 0.01) < GUARD_BASELINE_LEVEL
        check = Check(
            "latency p99 guard",
            "pass",
            baseline=f"{b_above}/{b_cum[-1]} above {1000 * c_edges[k]:g} ms",
            canary=f"{c_above}/{c_cum[-1]} above {1000 * c_edges[k]:g} ms",
            threshold=f"p99 ≤ {s.max_p99_ms:g} ms (p < {alpha:.2g})",
            p_value=p,
            window="recent",
        )
        if b_cum[-1] and not baseline_clear and (p < alpha or b_above / b_cum[-1] >= 0.01):
            check.status = "outage"
            check.note = (
                f"both arms' p99 above {s.max_p99_ms:g} ms: a shared slowdown, not the canary's fault"
            )
        elif p < alpha:
            check.status = "fail"
            check.note = f"canary p99 significantly above the absolute guard {s.max_p99_ms:g} ms"
        checks.append(check)
    return checks


#: a slice of the evidence is a shared outage when the baseline's 5xx rate is above the guard at this level
HIDDEN_OUTAGE_LEVEL = 1e-6


def shared_breach(piece: StepWindow, settings: AnalysisSettings) -> bool:
    """Whether both arms breach the error-rate guard in a short slice of the evidence: the baseline's 5xx
    rate far above `max_error_rate` (exact binomial, p < `HIDDEN_OUTAGE_LEVEL`) and the canary's not
    clearly below it. A healthy baseline never shows that, so a failing canary beside a healthy baseline
    is never excused by it. False with the guard off or counts that cannot be read."""
    guard = settings.max_error_rate
    if guard is None:
        return False
    try:
        be, bn = _arm_counts(piece.baseline, "baseline")
        ce, cn = _arm_counts(piece.canary, "canary")
    except BadDataError:
        return False
    if bn < 1 or stats.binomial_above(be, bn, guard) >= HIDDEN_OUTAGE_LEVEL:
        return False
    return cn < 1 or stats.binomial_below(ce, cn, guard) >= GUARD_BASELINE_LEVEL


def judge_canary(  # noqa: PLR0911, PLR0912 - one verdict per way out, in order of precedence
    strata: Sequence[StepWindow],
    settings: AnalysisSettings,
    *,
    min_requests: int,
    alphas: Alphas,
    beta_look: float,
    recent: StepWindow | None = None,
) -> StepJudgement:
    """Judge the evidence since the rollout started: `strata` holds one window per step (the current step
    last), `recent` the counts since the previous look (for the absolute guards; default the current
    step). `alphas` gives each judged test's level (`CanarySection.test_alphas`); a judged test without
    one is a KeyError, so a caller cannot judge outside the budget by accident. See the module docstring
    for the rules."""

    def verdict(v: Verdict, reason: str, why: str, checks: list[Check]) -> StepJudgement:
        return StepJudgement(v, reason, why, checks, dict(alphas), beta_look)

    if not strata:
        return verdict("inconclusive", "no-data", "no window to judge", [])
    current = strata[-1]
    try:
        base_n = _count(current.baseline.requests, "baseline request count")
        can_n = _count(current.canary.requests, "canary request count")
    except BadDataError as exc:
        return verdict("inconclusive", "no-data", str(exc), [])
    if base_n < 1 or can_n < 1:
        arm = "canary" if can_n < 1 else "baseline"
        traffic = Check("traffic", "inconclusive", baseline=f"{base_n}", canary=f"{can_n}")
        return verdict("inconclusive", "no-data", f"no traffic reached the {arm}", [traffic])
    enough = base_n >= min_requests and can_n >= min_requests
    checks: list[Check] = [
        Check(
            "traffic",
            "pass" if enough else "inconclusive",
            baseline=f"{base_n} req",
            canary=f"{can_n} req",
            threshold=f"≥ {min_requests} each in this step",
            note="" if enough else "too few requests to pass yet",
        )
    ]
    signals = list(settings.signals or ALL_SIGNALS)
    missing: list[str] = []
    for signal in signals:
        try:
            if signal == "error-rate":
                checks.append(_error_rate(strata, settings, alphas, beta_look))
            elif signal == "latency":
                checks.extend(_latency(strata, settings, alphas, beta_look))
            elif signal == "prediction-shift":
                checks.append(_prediction_shift(strata, settings, alphas))
            elif signal == "positive-rate":
                checks.append(_positive_rate(strata, settings, alphas))
        except BadDataError as exc:
            checks.append(Check(signal, "inconclusive", note=str(exc)))
            missing.append(f"{signal}: {exc}")
    try:
        checks.extend(_guards(recent or current, settings, alphas, signals))
    except BadDataError as exc:
        checks.append(Check("guards", "inconclusive", note=str(exc), window="recent"))
        missing.append(f"guards: {exc}")
    outage = [c for c in checks if c.status == "outage"]
    failed = [c for c in checks if c.status == "fail"]
    if outage:
        # both arms breaching together is never evidence against the canary: whatever failed at this look
        # judged the outage's counts too (the controller drops them), so it is held, not blamed
        why = "; ".join(f"{c.signal}: {c.note}" for c in outage)
        if failed:
            why += "; held, not blamed (judged on the outage's counts): " + "; ".join(
                f"{c.signal}: {c.note}" for c in failed
            )
        return verdict("outage", "outage", why, checks)
    if failed:
        first = failed[0].signal.split()[0]
        why = "; ".join(f"{c.signal}: {c.note}" for c in failed)
        return verdict("fail", SIGNAL_REASON[first], why, checks)
    pending = [c for c in checks if c.status == "inconclusive"]
    if pending:
        why = "; ".join(f"{c.signal}: {c.note}" for c in pending)
        return verdict("inconclusive", "no-data" if missing else "inconclusive", why, checks)
    return verdict("pass", "", "every judged signal within bounds and the regressions ruled out", checks)
