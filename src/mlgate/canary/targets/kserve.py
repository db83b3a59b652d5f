"""The KServe target: `spec.predictor.canaryTrafficPercent` on an InferenceService through the
Kubernetes API (JSON merge patch), weights read back from `status.components.predictor.traffic`
(the entry with `latestRevision: true` is the canary). Promotion removes `canaryTrafficPercent`
(KServe then sends 100 % to the latest revision); rollback sets it to 0.

Metrics come from Prometheus (the same `PrometheusMetrics`), with selectors naming the two revisions.
Tested against a local server implementing the documented request and response shapes, not a cluster.
"""

from __future__ import annotations

import os
from typing import Any

from mlgate.canary.config import KServeSettings
from mlgate.canary.controller import TargetError
from mlgate.gate import GateInputError

GROUP_PATH = "/apis/serving.kserve.io/v1beta1"


class KServeTarget:
    def __init__(self, settings: KServeSettings, *, config_file: str = "mlgate.yaml") -> None:
        self.settings = settings
        self.config_file = config_file

    @property
    def path(self) -> str:
        s = self.settings
        return f"{GROUP_PATH}/namespaces/{s.namespace}/inferenceservices/{s.name}"

    def describe(self) -> str:
        return f"InferenceService {self.settings.namespace}/{self.settings.name}"

    def _request(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        headers = {"Accept": "application/json"}
        token = os.environ.get(self.settings.token_env, "") if self.settings.token_env else ""
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = "application/merge-patch+json"
        try:
            response = httpx.request(
                method,
                self.settings.api_url.rstrip("/") + self.path,
                json=body,
                headers=headers,
                timeout=30.0,
                verify=self.settings.verify_tls,
            )
        except httpx.HTTPError as exc:
            raise TargetError(f"Kubernetes API {method} {self.path}: {exc}") from exc
        try:
            payload: dict[str, Any] = response.json()
        except ValueError:
            payload = {}
        if response.is_error:
            message = payload.get("message") or response.text[:200]
            raise TargetError(f"Kubernetes API {method} {self.path}: HTTP {response.status_code}: {message}")
        return payload

    def check(self, model_version: str | None = None) -> None:
        try:
            isvc = self._request("GET")
        except TargetError as exc:
            raise GateInputError(
                str(exc),
                file=self.config_file,
                field="canary.kserve.name",
                fix="apply the InferenceService first or fix namespace/name",
            ) from None
        if model_version:
            uri = str(isvc.get("spec", {}).get("predictor", {}).get("model", {}).get("storageUri", ""))
            if model_version not in uri:
                raise GateInputError(
                    f"model version {model_version!r} not found in the predictor's storageUri ({uri})",
                    file=self.config_file,
                    field="model-version",
                    fix="apply the InferenceService with the candidate's storageUri first",
                )

    def set_weights(self, canary_percent: float) -> None:
        value: int | None = None if canary_percent >= 100 else round(canary_percent)
        self._request("PATCH", {"spec": {"predictor": {"canaryTrafficPercent": value}}})

    def read_weights(self) -> float:
        isvc = self._request("GET")
        traffic = isvc.get("status", {}).get("components", {}).get("predictor", {}).get("traffic")
        if not isinstance(traffic, list) or not traffic:
            raise TargetError(f"{self.describe()}: no status.components.predictor.traffic yet")
        latest = [float(t.get("percent", 0)) for t in traffic if t.get("latestRevision")]
        if not latest:
            raise TargetError(f"{self.describe()}: no traffic entry with latestRevision: true")
        return sum(latest)
