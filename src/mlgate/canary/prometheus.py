"""Metrics from Prometheus' HTTP API with PromQL — the same code for a local and a production Prometheus.

Metric names and the label matchers that tell baseline from canary come from `canary.prometheus` in
mlgate.yaml. Every figure is the exact number of events counted in the step's window, both arms and all
metrics evaluated at the same instant: per series, the counter's raw samples in the window minus its last
value before the window (0 for a series born inside it), counter resets handled like `increase()`.

Not PromQL's `increase()`: it extrapolates each series to the window edges by its own factor, and for
counters limits the extrapolation towards zero by the series' first value — so the buckets of one
histogram are scaled differently (low buckets of a fresh canary series barely, high ones by up to half
a scrape interval's worth), a series' counts before its first scrape in the window are dropped, and
the "counts" are not counts. Over a short bake with few scrapes that distorts the score histogram enough
for PSI / KS to roll back a healthy canary; the statistical tests need the real counts.

An arm without any series of the request counter, or a histogram without a +Inf bucket or observations,
is a missing metric (the look is inconclusive); an unreachable Prometheus raises
`MetricsUnavailableError`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from mlgate.canary.config import PrometheusSettings
from mlgate.canary.controller import MetricsUnavailableError
from mlgate.canary.judge import ArmWindow, StepWindow
from mlgate.gate import GateInputError


class PromQLError(RuntimeError):
    """Prometheus rejected a query (bad PromQL, unknown function, …)."""


class PrometheusMetrics:
    SIGNALS = ("error-rate", "latency", "prediction-shift", "positive-rate")

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        config_file: str = "mlgate.yaml",
        clock: Callable[[], float] = time.time,
        decision_threshold: float | None = None,
    ) -> None:
        self.settings = settings
        self.config_file = config_file
        self.clock = clock
        #: positives are scores above this bound: `positive_threshold`, else the eval decision threshold
        self.threshold = (
            settings.positive_threshold
            if settings.positive_threshold is not None
            else (decision_threshold if decision_threshold is not None else 0.5)
        )

    # -- HTTP API ------------------------------------------------------------------------------------
    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query (evaluated at `at`, Unix seconds, when given): the result list."""
        import httpx

        url = self.settings.url.rstrip("/") + "/api/v1/query"
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        try:
            response = httpx.get(url, params=params, timeout=self.settings.timeout_seconds)
        except httpx.HTTPError as exc:
            raise MetricsUnavailableError(
                f"Prometheus at {self.settings.url}: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise MetricsUnavailableError(
                f"Prometheus at {self.settings.url} answered HTTP {response.status_code} without JSON"
            ) from None
        if body.get("status") != "success":
            if response.status_code in (400, 422):
                raise PromQLError(f"{body.get('errorType', 'error')}: {body.get('error', '')} in `{promql}`")
            raise MetricsUnavailableError(f"Prometheus HTTP {response.status_code}: {body.get('error', '')}")
        data = body.get("data") or {}
        if data.get("resultType") == "scalar":
            return [{"metric": {}, "value": data.get("result")}]
        result = data.get("result")
        return list(result) if isinstance(result, list) else []

    def _scalar(self, promql: str) -> float | None:
        result = self.query(promql)
        if not result:
            return None
        return float(result[0]["value"][1])

    # -- the queries ---------------------------------------------------------------------------------
    def matchers(self, selector: str) -> tuple[str, str]:
        """(request matchers, score matchers) of an arm: the arm's selector plus the same filters."""
        s = self.settings
        req = ",".join(part for part in (selector, s.request_matchers) if part)
        extra = s.request_matchers if s.score_matchers is None else s.score_matchers
        score = ",".join(part for part in (selector, extra) if part)
        return req, score

    def queries(self, selector: str, window: str) -> dict[str, str]:
        s = self.settings
        req, score = self.matchers(selector)
        return {
            "requests": f"sum(increase({s.requests_metric}{{{req}}}[{window}]))",
            "errors": f'sum(increase({s.requests_metric}{{{req},status=~"5.."}}[{window}]))',
            "latency": f"sum by (le) (increase({s.latency_metric}_bucket{{{req}}}[{window}]))",
            "scores": f"sum by (le) (increase({s.score_metric}_bucket{{{score}}}[{window}]))",
        }

    def check(self) -> None:
        """Run every query once before any traffic moves: bad PromQL, no Prometheus, or a score histogram
        without a bucket bound at the decision threshold is bad input."""
        for arm, selector in (
            ("baseline", self.settings.baseline_selector),
            ("canary", self.settings.canary_selector),
        ):
            for name, promql in self.queries(selector, "1m").items():
                try:
                    self.query(promql)
                except PromQLError as exc:
                    raise GateInputError(
                        f"Prometheus rejected the {arm} {name} query: {exc}",
                        file=self.config_file,
                        field=f"canary.prometheus ({arm}_selector / metric names)",
                        fix="fix the label matchers or metric names so the PromQL parses",
                    ) from None
                except MetricsUnavailableError as exc:
                    raise GateInputError(
                        str(exc),
                        file=self.config_file,
                        field="canary.prometheus.url",
                        fix="start Prometheus or point the url at a reachable one",
                    ) from None
            _, score = self.matchers(selector)
            try:
                bounds = {
                    _le(item["metric"])
                    for item in self.query(f"{self.settings.score_metric}_bucket{{{score}}}")
                }
            except (PromQLError, MetricsUnavailableError, KeyError, ValueError):
                continue  # reported by the queries above, or judged missing at the looks
            if bounds and not any(abs(le - self.threshold) < 1e-9 for le in bounds):
                raise GateInputError(
                    f"the {arm} score histogram has no bucket bound at the decision threshold "
                    f"{self.threshold:g} (bounds {', '.join(f'{b:g}' for b in sorted(bounds))})",
                    file=self.config_file,
                    field="canary.prometheus.positive_threshold",
                    fix="add the threshold to the service's score buckets or set positive_threshold to one",
                )

    def _counts(self, series: str, start: float, end: float, *, by_le: bool = False) -> dict[float, float]:
        """Events counted by the counter `series` (a selector) in (start, end], summed over its series
        (by `le` bucket when `by_le`, else under key 0). Empty when no series exists: a missing metric."""
        window_ms = max(1, round((end - start) * 1000))
        before = {
            _series_key(item["metric"]): float(item["value"][1]) for item in self.query(series, at=start)
        }
        totals: dict[float, float] = {}
        for item in self.query(f"{series}[{window_ms}ms]", at=end):
            previous = before.get(_series_key(item["metric"]), 0.0)  # born inside the window: from 0
            counted = 0.0
            for _ts, raw in item.get("values") or []:
                value = float(raw)
                counted += value - previous if value >= previous else value  # a drop is a counter reset
                previous = value
            key = _le(item["metric"]) if by_le else 0.0
            totals[key] = totals.get(key, 0.0) + counted
        for labels in before:  # a series with no sample in the window counted nothing, but it exists
            totals.setdefault(_le(dict(labels)) if by_le else 0.0, 0.0)
        return totals

    def _arm(self, selector: str, start: float, end: float) -> ArmWindow:
        s = self.settings
        req, score = self.matchers(selector)
        try:
            requests = self._counts(f"{s.requests_metric}{{{req}}}", start, end).get(0.0)
            errors = self._counts(f'{s.requests_metric}{{{req},status=~"5.."}}', start, end).get(0.0)
            if errors is None and requests is not None:
                errors = 0.0  # no 5xx series yet: no errors in the window
            latency = sorted(
                self._counts(f"{s.latency_metric}_bucket{{{req}}}", start, end, by_le=True).items()
            )
            buckets = sorted(
                self._counts(f"{s.score_metric}_bucket{{{score}}}", start, end, by_le=True).items()
            )
        except PromQLError as exc:
            raise MetricsUnavailableError(str(exc)) from exc
        scores: list[float] | None = None
        if buckets:
            cumulative = [count for _, count in buckets]
            scores = [c - p for c, p in zip(cumulative, [0.0, *cumulative[:-1]], strict=True)]
        return ArmWindow(requests, errors, latency or None, scores, self._positives(buckets))

    def _positives(self, buckets: list[tuple[float, float]]) -> float | None:
        """Successful predictions above the decision threshold: the +Inf count minus the threshold
        bucket's (None when the histogram has no bound at the threshold: a missing metric)."""
        cumulative = dict(buckets)
        at = next((count for le, count in cumulative.items() if abs(le - self.threshold) < 1e-9), None)
        total = cumulative.get(math.inf)
        if at is None or total is None:
            return None
        return total - at

    def window(self, seconds: float) -> StepWindow:
        end = self.clock()  # one instant for both arms and every metric: like-for-like windows
        start = end - max(1.0, seconds)
        return StepWindow(
            baseline=self._arm(self.settings.baseline_selector, start, end),
            canary=self._arm(self.settings.canary_selector, start, end),
            seconds=seconds,
        )


def _series_key(labels: dict[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def _le(labels: dict[str, str]) -> float:
    le = labels.get("le", "+Inf")
    return math.inf if le in ("+Inf", "Inf", "inf") else float(le)


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """PromQL's `histogram_quantile` over (upper bound, cumulative count) pairs sorted by bound;
    None where PromQL gives NaN (no +Inf bucket, no observations)."""
    if len(buckets) < 2 or buckets[-1][0] != math.inf or buckets[-1][1] <= 0:
        return None
    counts = [count for _, count in buckets]
    for i in range(1, len(counts)):  # like PromQL: make the cumulative counts monotonic
        counts[i] = max(counts[i], counts[i - 1])
    rank = q * counts[-1]
    index = next(i for i, count in enumerate(counts) if count >= rank)
    if index == len(buckets) - 1:
        return buckets[-2][0]
    upper = buckets[index][0]
    if index == 0 and upper <= 0:
        return upper
    lower, below = (0.0, 0.0) if index == 0 else (buckets[index - 1][0], counts[index - 1])
    in_bucket = counts[index] - below
    if in_bucket <= 0:
        return upper
    return lower + (upper - lower) * (rank - below) / in_bucket
