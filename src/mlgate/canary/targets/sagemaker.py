"""The SageMaker target: two production variants of one endpoint (champion = baseline, challenger =
canary), shifted with `UpdateEndpointWeightsAndCapacities`; per-variant metrics from CloudWatch
(`AWS/SageMaker`: Invocations, Invocation5XXErrors, ModelLatency).

Like with like: both arms are read over the same window (one start and end for every query) as one
CloudWatch period covering it, so each figure is CloudWatch's own aggregate over the whole window — never
the worst minute of the smaller, noisier canary arm. Latency comes as bucket counts the judge can test:
the share of requests at or below a ladder of bounds around the baseline's p95 and p99
(`PR(:bound)` x `SampleCount`, the same bounds for both arms).

SageMaker weights are relative: the canary share is `challenger / (champion + challenger)`. An update is
only accepted while the endpoint is `InService`, so each shift first waits for it (bounded).

With an image to deploy (`image_uri` configured, or the image CD pushed to ECR, `--image-uri`),
`sagemaker_deploy.SageMakerDeployer` first puts the promoted version on the challenger variant at weight 0
(new Model and EndpointConfig, UpdateEndpoint); this module then shifts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from typing import Any

from mlgate.canary.config import SageMakerSettings
from mlgate.canary.controller import MetricsUnavailableError, TargetError
from mlgate.canary.judge import ArmWindow, StepWindow
from mlgate.gate import GateInputError


class SageMakerTarget:
    def __init__(
        self, settings: SageMakerSettings, *, config_file: str = "mlgate.yaml", wait_seconds: float = 600.0
    ) -> None:
        import boto3

        self.settings = settings
        self.config_file = config_file
        self.wait_seconds = wait_seconds
        self.client: Any = boto3.client("sagemaker", region_name=settings.region)

    def describe(self) -> str:
        return f"SageMaker endpoint {self.settings.endpoint_name}"

    def _describe_endpoint(self) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return dict(self.client.describe_endpoint(EndpointName=self.settings.endpoint_name))
        except (ClientError, BotoCoreError) as exc:
            raise TargetError(f"DescribeEndpoint {self.settings.endpoint_name}: {exc}") from exc

    def check(self, model_version: str | None = None) -> None:
        """Endpoint and both variants exist (bad input otherwise); the canary variant serves the version."""
        s = self.settings
        try:
            endpoint = self._describe_endpoint()
        except TargetError as exc:
            raise GateInputError(
                str(exc),
                file=self.config_file,
                field="canary.sagemaker.endpoint_name",
                fix="create the endpoint first or fix its name",
            ) from None
        variants = {v["VariantName"]: v for v in endpoint.get("ProductionVariants", [])}
        for field, name in (("baseline_variant", s.baseline_variant), ("canary_variant", s.canary_variant)):
            if name not in variants:
                raise GateInputError(
                    f"variant {name!r} not on endpoint {s.endpoint_name} (has {', '.join(sorted(variants))})",
                    file=self.config_file,
                    field=f"canary.sagemaker.{field}",
                    fix="name one of the endpoint's production variants",
                )
        if model_version:
            config = self.client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            models = [
                v.get("ModelName", "")
                for v in config.get("ProductionVariants", [])
                if v["VariantName"] == s.canary_variant
            ]
            slug = re.sub(r"[^A-Za-z0-9]+", "-", model_version).strip("-")  # as in the deployer's names
            if not any(model_version in model or (slug and slug in model) for model in models):
                raise GateInputError(
                    f"model version {model_version!r} not found on variant {s.canary_variant} "
                    f"(serves {models})",
                    file=self.config_file,
                    field="model-version",
                    fix="deploy the candidate to the canary variant or pass the version it serves",
                )

    def _wait_in_service(self) -> None:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            status = self._describe_endpoint().get("EndpointStatus")
            if status == "InService":
                return
            if status in ("Failed", "OutOfService") or time.monotonic() > deadline:
                raise TargetError(f"{self.describe()} is {status}")
            time.sleep(5)

    def set_weights(self, canary_percent: float) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self._wait_in_service()
        s = self.settings
        try:
            self.client.update_endpoint_weights_and_capacities(
                EndpointName=s.endpoint_name,
                DesiredWeightsAndCapacities=[
                    {"VariantName": s.baseline_variant, "DesiredWeight": float(100 - canary_percent)},
                    {"VariantName": s.canary_variant, "DesiredWeight": float(canary_percent)},
                ],
            )
        except (ClientError, BotoCoreError) as exc:
            raise TargetError(f"UpdateEndpointWeightsAndCapacities: {exc}") from exc

    def read_weights(self) -> float:
        s = self.settings
        variants = {v["VariantName"]: v for v in self._describe_endpoint().get("ProductionVariants", [])}
        missing = [name for name in (s.baseline_variant, s.canary_variant) if name not in variants]
        if missing:
            raise TargetError(f"{self.describe()}: variant(s) {', '.join(missing)} no longer on the endpoint")

        def weight(name: str) -> float:
            # a variant at weight 0 may come back without CurrentWeight (moto omits it)
            return float(variants[name].get("CurrentWeight") or 0.0)

        base, can = weight(s.baseline_variant), weight(s.canary_variant)
        if base + can <= 0:
            raise TargetError(f"{self.describe()}: both variants have weight 0")
        return 100 * can / (base + can)


#: latency bucket bounds in seconds (the generated service's histogram buckets)
LATENCY_BOUNDS = (
    0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.010, 0.0115, 0.013, 0.015, 0.0175,
    0.020, 0.023, 0.026, 0.030, 0.035, 0.040, 0.045, 0.050, 0.0575, 0.065, 0.075, 0.085, 0.100, 0.115,
    0.130, 0.150, 0.175, 0.200, 0.230, 0.260, 0.300, 0.350, 0.400, 0.450, 0.500, 0.575, 0.650, 0.750,
    0.850, 1.0, 1.25, 1.5, 2.0, 2.5, 5.0, 10.0,
)  # fmt: skip
#: CloudWatch takes at most 10 extended statistics per call
MAX_EXTENDED = 10


def ladder_around(p95: float, p99: float, ratio: float, delta: float) -> list[float]:
    """The bounds (seconds, at most 10) the judge's latency tests use, from the baseline's p95 and p99:
    for p95 - delta, p95 / ratio, p95 and p99 the nearest bound below and above each."""
    chosen: set[float] = set()
    for target in (p95 - delta, p95 / ratio, p95, p99):
        below = [b for b in LATENCY_BOUNDS if b <= target]
        above = [b for b in LATENCY_BOUNDS if b >= target]
        chosen.update(below[-1:] + above[:1])
    return sorted(chosen)[:MAX_EXTENDED]


class CloudWatchMetrics:
    """Per-variant SageMaker metrics from CloudWatch over the step's window, like with like."""

    SIGNALS = ("error-rate", "latency")

    def __init__(
        self, settings: SageMakerSettings, *, latency_ratio: float = 1.25, latency_delta_ms: float = 10.0
    ) -> None:
        import boto3

        self.settings = settings
        self.latency_ratio = latency_ratio
        self.latency_delta = latency_delta_ms / 1000
        self.client: Any = boto3.client("cloudwatch", region_name=settings.region)

    def check(self) -> None:
        end = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self._stat(
            "Invocations", self.settings.canary_variant, (end - dt.timedelta(seconds=60), end), ["Sum"]
        )

    def _stat(
        self,
        metric: str,
        variant: str,
        window: tuple[dt.datetime, dt.datetime],
        stats: list[str],
        extended: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        start, end = window
        kwargs: dict[str, Any] = {
            "Namespace": "AWS/SageMaker",
            "MetricName": metric,
            "StartTime": start,
            "EndTime": end,
            "Period": max(60, round((end - start).total_seconds())),
            "Dimensions": [
                {"Name": "EndpointName", "Value": self.settings.endpoint_name},
                {"Name": "VariantName", "Value": variant},
            ],
        }
        if stats:
            kwargs["Statistics"] = stats
        if extended:
            kwargs["ExtendedStatistics"] = extended
        try:
            return list(self.client.get_metric_statistics(**kwargs).get("Datapoints", []))
        except (ClientError, BotoCoreError) as exc:
            raise MetricsUnavailableError(f"CloudWatch {metric}: {exc}") from exc

    @staticmethod
    def _sum(points: list[dict[str, Any]], key: str = "Sum") -> float | None:
        values = [float(p[key]) for p in points if key in p]
        return sum(values) if values else None

    def _latency(
        self, variant: str, window: tuple[dt.datetime, dt.datetime], bounds: list[float]
    ) -> list[tuple[float, float]] | None:
        """(bound in seconds, cumulative count) at `bounds` and +Inf, from PR(:bound) x SampleCount."""
        if not bounds:
            return None
        extended = [f"PR(:{b * 1e6:.0f})" for b in bounds]  # ModelLatency is in microseconds
        points = self._stat("ModelLatency", variant, window, ["SampleCount"], extended)
        total = self._sum(points, "SampleCount")
        if total is None:
            return None
        cumulative = [0.0] * len(bounds)
        for point in points:
            count = float(point.get("SampleCount", 0.0))
            ranks = point.get("ExtendedStatistics", {})
            for i, key in enumerate(extended):
                if key not in ranks:
                    return None  # no percentile ranks: latency is missing, not zero
                cumulative[i] += float(ranks[key]) / 100 * count
        return [*zip(bounds, cumulative, strict=True), (math.inf, total)]

    def _counts(
        self, variant: str, window: tuple[dt.datetime, dt.datetime]
    ) -> tuple[float | None, float | None]:
        requests = self._sum(self._stat("Invocations", variant, window, ["Sum"]))
        errors = self._sum(self._stat("Invocation5XXErrors", variant, window, ["Sum"]))
        if errors is None and requests is not None:
            errors = 0.0
        return requests, errors

    def window(self, seconds: float) -> StepWindow:
        end = dt.datetime.now(dt.UTC).replace(microsecond=0)
        period = max(60, 60 * math.ceil(seconds / 60))
        window = (end - dt.timedelta(seconds=period), end)  # one window and one period for both arms
        s = self.settings
        base_points = self._stat("ModelLatency", s.baseline_variant, window, [], ["p95", "p99"])
        quantiles = [p.get("ExtendedStatistics", {}) for p in base_points]
        bounds: list[float] = []
        if len(quantiles) == 1 and "p95" in quantiles[0] and "p99" in quantiles[0]:
            p95, p99 = float(quantiles[0]["p95"]) / 1e6, float(quantiles[0]["p99"]) / 1e6
            bounds = ladder_around(p95, p99, self.latency_ratio, self.latency_delta)
        arms = []
        for variant in (s.baseline_variant, s.canary_variant):
            requests, errors = self._counts(variant, window)
            arms.append(
                ArmWindow(
                    requests=requests, errors=errors, latency_buckets=self._latency(variant, window, bounds)
                )
            )
        return StepWindow(arms[0], arms[1], seconds)
