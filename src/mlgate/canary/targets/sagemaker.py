"""The SageMaker target: two production variants of one endpoint (champion = baseline, challenger =
canary), shifted with `UpdateEndpointWeightsAndCapacities`; per-variant metrics from CloudWatch
(`AWS/SageMaker`: Invocations, Invocation5XXErrors, ModelLatency p95/p99).

SageMaker weights are relative: the canary share is `challenger / (champion + challenger)`. An update is
only accepted while the endpoint is `InService`, so each shift first waits for it (bounded).
"""

from __future__ import annotations

import datetime as dt
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
            if not any(model_version in model for model in models):
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


class CloudWatchMetrics:
    """Per-variant SageMaker metrics from CloudWatch over the step's window."""

    SIGNALS = ("error-rate", "latency")

    def __init__(self, settings: SageMakerSettings) -> None:
        import boto3

        self.settings = settings
        self.client: Any = boto3.client("cloudwatch", region_name=settings.region)

    def check(self) -> None:
        self._stat("Invocations", self.settings.canary_variant, 60.0, ["Sum"])

    def _stat(
        self, metric: str, variant: str, seconds: float, stats: list[str], extended: list[str] | None = None
    ) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        end = dt.datetime.now(dt.UTC)
        period = self.settings.metrics_period_seconds
        start = end - dt.timedelta(seconds=max(seconds, period))
        kwargs: dict[str, Any] = {
            "Namespace": "AWS/SageMaker",
            "MetricName": metric,
            "StartTime": start,
            "EndTime": end,
            "Period": period,
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

    def _arm(self, variant: str, seconds: float) -> ArmWindow:
        invocations = self._stat("Invocations", variant, seconds, ["Sum"])
        requests = sum(float(p["Sum"]) for p in invocations) if invocations else None
        errors_points = self._stat("Invocation5XXErrors", variant, seconds, ["Sum"])
        errors = sum(float(p["Sum"]) for p in errors_points) if errors_points else (0.0 if requests else None)
        latency: dict[float, float | None] = {0.95: None, 0.99: None}
        points = self._stat("ModelLatency", variant, seconds, [], ["p95", "p99"])
        if points:
            # the worst period in the window (ModelLatency is in microseconds)
            for q, key in ((0.95, "p95"), (0.99, "p99")):
                values = [float(p.get("ExtendedStatistics", {}).get(key, "nan")) for p in points]
                latency[q] = max(values) / 1000.0 if values else None
        return ArmWindow(requests=requests, errors=errors, latency_ms=latency)

    def window(self, seconds: float) -> StepWindow:
        return StepWindow(
            self._arm(self.settings.baseline_variant, seconds),
            self._arm(self.settings.canary_variant, seconds),
            seconds,
        )
