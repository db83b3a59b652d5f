"""Metrics from Prometheus' HTTP API with PromQL — the same code for a local and a production Prometheus.

Metric names and the label matchers that tell baseline from canary come from `canary.prometheus` in
mlgate.yaml. Every figure is an `increase()` over the step's window, so both arms are compared over the
same seconds. An empty result for the request counter, or NaN from `histogram_quantile`, is a missing
metric (the look is inconclusive); an unreachable Prometheus raises `MetricsUnavailableError`.
"""

from __future__ import annotations

import math
from typing import Any

from mlgate.canary.config import PrometheusSettings
from mlgate.canary.controller import MetricsUnavailableError
from mlgate.canary.judge import ArmWindow, StepWindow
from mlgate.gate import GateInputError


class PromQLError(RuntimeError):
    """Prometheus rejected a query (bad PromQL, unknown function, …)."""


class PrometheusMetrics:
    SIGNALS = ("error-rate", "latency", "prediction-shift", "positive-rate")

    def __init__(self, settings: PrometheusSettings, *, config_file: str = "mlgate.yaml") -> None:
        self.settings = settings
        self.config_file = config_file

    # -- HTTP API ------------------------------------------------------------------------------------
    def query(self, promql: str) -> list[dict[str, Any]]:
        import httpx

        url = self.settings.url.rstrip("/") + "/api/v1/query"
        try:
            response = httpx.get(url, params={"query": promql}, timeout=self.settings.timeout_seconds)
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
    def queries(self, selector: str, window: str) -> dict[str, str]:
        s = self.settings
        req = ",".join(part for part in (selector, s.request_matchers) if part)
        latency = f"sum by (le) (increase({s.latency_metric}_bucket{{{req}}}[{window}]))"
        queries = {
            "requests": f"sum(increase({s.requests_metric}{{{req}}}[{window}]))",
            "errors": f'sum(increase({s.requests_metric}{{{req},status=~"5.."}}[{window}]))',
            "p95": f"histogram_quantile(0.95, {latency})",
            "p99": f"histogram_quantile(0.99, {latency})",
            "scores": f"sum by (le) (increase({s.score_metric}_bucket{{{selector}}}[{window}]))",
        }
        if s.positives_metric:
            queries["positives"] = f"sum(increase({s.positives_metric}{{{selector}}}[{window}]))"
        return queries

    def check(self) -> None:
        """Run every query once before any traffic moves: bad PromQL or no Prometheus is bad input."""
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

    def _arm(self, selector: str, window: str) -> ArmWindow:
        q = self.queries(selector, window)
        try:
            requests = self._scalar(q["requests"])
            errors = self._scalar(q["errors"])
            if errors is None and requests is not None:
                errors = 0.0  # no 5xx series yet: no errors in the window
            latency = {0.95: self._scalar(q["p95"]), 0.99: self._scalar(q["p99"])}
            latency_ms = {k: (v * 1000 if v is not None else None) for k, v in latency.items()}
            buckets = []
            for series in self.query(q["scores"]):
                le = series["metric"].get("le", "+Inf")
                buckets.append((math.inf if le in ("+Inf", "Inf") else float(le), float(series["value"][1])))
            buckets.sort()
            scores: list[float] | None = None
            if buckets:
                cumulative = [count for _, count in buckets]
                scores = [max(0.0, c - p) for c, p in zip(cumulative, [0.0, *cumulative[:-1]], strict=True)]
            if "positives" in q:
                positives = self._scalar(q["positives"])
            else:
                positives = self._positives_from_scores(buckets)
        except PromQLError as exc:
            raise MetricsUnavailableError(str(exc)) from exc
        return ArmWindow(requests, errors, latency_ms, scores, positives)

    def _positives_from_scores(self, buckets: list[tuple[float, float]]) -> float | None:
        """Predictions above `positive_threshold`: the +Inf count minus the threshold bucket's."""
        cumulative = dict(buckets)
        threshold = self.settings.positive_threshold
        at = next((count for le, count in cumulative.items() if abs(le - threshold) < 1e-9), None)
        total = cumulative.get(math.inf)
        if at is None or total is None:
            return None
        return max(0.0, total - at)

    def window(self, seconds: float) -> StepWindow:
        window = f"{max(1, math.ceil(seconds))}s"
        return StepWindow(
            baseline=self._arm(self.settings.baseline_selector, window),
            canary=self._arm(self.settings.canary_selector, window),
            seconds=seconds,
        )
