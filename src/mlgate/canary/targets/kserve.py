"""The KServe target: an InferenceService's canary traffic through the Kubernetes API, with lightkube.

Two canary styles (`canary.kserve.mode`), as the generated `deploy/kserve/` manifests declare them:
- `serverless` (Knative): `spec.predictor.canaryTrafficPercent` (JSON merge patch); the split is read
  back from `status.components.predictor.traffic` (the entry with `latestRevision: true` is the canary).
  Promotion removes `canaryTrafficPercent` (KServe then sends 100 % to the latest revision); rollback
  sets it to 0.
- `standard` (KServe 0.20+ Standard mode, no revisions): `spec.canary[0].trafficPercent` next to the
  champion's `spec.predictor`; rollback sets it to 0; promotion makes the canary's predictor the
  predictor and removes `spec.canary`. The split is read back from the object the API server returns.

The cluster is reached the way kubectl reaches it, through lightkube (a maintained Kubernetes client on
httpx): a kubeconfig (`canary.kserve.kubeconfig`, else `$KUBECONFIG` or `~/.kube/config`) including
exec credential plugins — `aws eks get-token`, `gke-gcloud-auth-plugin`, … — which lightkube runs again
when the API server answers 401, so a token that expires mid-rollout (an EKS token lives 15 minutes) is
refreshed before the final promotion or rollback call; or, inside a pod, the service account's token
(re-read when it is rotated) and the cluster CA, with TLS verified.

Metrics come from Prometheus (the same `PrometheusMetrics`), with selectors naming the two revisions.
Tested against a local server implementing the documented request and response shapes (over TLS with
its own CA for the in-cluster case), not a cluster.
"""

from __future__ import annotations

from typing import Any

from mlgate.canary.config import KServeSettings
from mlgate.canary.controller import TargetError
from mlgate.errors import GateInputError

GROUP, VERSION, KIND, PLURAL = "serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices"


def predictor_versions(predictor: dict[str, Any]) -> list[str]:
    """What a predictor says it serves: its storageUri, container images and MODEL_VERSION values."""
    found = [str((predictor.get("model") or {}).get("storageUri") or "")]
    for container in predictor.get("containers") or []:
        found.append(str(container.get("image") or ""))
        found += [
            str(e.get("value") or "") for e in container.get("env") or [] if e.get("name") == "MODEL_VERSION"
        ]
    return [f for f in found if f]


class KServeTarget:
    def __init__(self, settings: KServeSettings, *, config_file: str = "mlgate.yaml") -> None:
        self.settings = settings
        self.config_file = config_file
        self._client: Any = None
        self._resource: Any = None

    def describe(self) -> str:
        return f"InferenceService {self.settings.namespace}/{self.settings.name} ({self.settings.mode} mode)"

    def _connect(self) -> tuple[Any, Any]:
        """The lightkube client (kubeconfig, else in-cluster) and the InferenceService resource class."""
        if self._client is not None:
            return self._client, self._resource
        from lightkube import Client, ConfigError, KubeConfig
        from lightkube.generic_resource import create_namespaced_resource

        s = self.settings
        try:
            if s.kubeconfig:
                config = KubeConfig.from_file(s.kubeconfig)
            else:  # in a pod: the service account; else $KUBECONFIG or ~/.kube/config
                config = KubeConfig.from_env(service_account=s.service_account_dir)
            import httpx2

            self._client = Client(
                config=config.get(context_name=s.context) if s.context else config,
                namespace=s.namespace,
                timeout=httpx2.Timeout(s.timeout_seconds),
                field_manager="mlgate",
            )
        except (ConfigError, KeyError, OSError, ValueError) as exc:
            raise GateInputError(
                f"no usable Kubernetes configuration: {exc}",
                file=self.config_file,
                field="canary.kserve.kubeconfig",
                fix="point `kubeconfig` (or KUBECONFIG) at a kubeconfig for the cluster, or run in a pod "
                "with a service account",
            ) from None
        self._resource = create_namespaced_resource(GROUP, VERSION, KIND, PLURAL)
        return self._client, self._resource

    def _call(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        from lightkube import ApiError
        from lightkube.types import PatchType

        client, isvc = self._connect()
        name, namespace = self.settings.name, self.settings.namespace
        try:
            if body is None:
                obj = client.get(isvc, name, namespace=namespace)
            else:
                obj = client.patch(isvc, name, body, namespace=namespace, patch_type=PatchType.MERGE)
        except ApiError as exc:
            code = exc.status.code if exc.status is not None else "?"
            message = exc.status.message if exc.status is not None else str(exc)
            raise TargetError(f"Kubernetes API {method} {self.describe()}: HTTP {code}: {message}") from exc
        except Exception as exc:
            raise TargetError(
                f"Kubernetes API {method} {self.describe()}: {type(exc).__name__}: {exc}"
            ) from exc
        return dict(obj.to_dict() if hasattr(obj, "to_dict") else obj)

    def check(self, model_version: str | None = None) -> None:
        try:
            obj = self._call("GET")
        except TargetError as exc:
            raise GateInputError(
                str(exc),
                file=self.config_file,
                field="canary.kserve.name",
                fix="apply the InferenceService (deploy/kserve/) first or fix namespace/name",
            ) from None
        spec = obj.get("spec") or {}
        if self.settings.mode == "standard":
            canaries = spec.get("canary") or []
            if not canaries:
                raise GateInputError(
                    f"{self.describe()} has no spec.canary entry",
                    file=self.config_file,
                    field="canary.kserve.mode",
                    fix="apply deploy/kserve/inferenceservice-standard.yaml with the candidate in "
                    "spec.canary",
                )
            predictor = canaries[0].get("predictor") or {}
        else:
            predictor = spec.get("predictor") or {}
        if model_version:
            served = predictor_versions(predictor)
            if not any(model_version in s for s in served):
                where = "spec.canary[0].predictor" if self.settings.mode == "standard" else "predictor"
                raise GateInputError(
                    f"model version {model_version!r} not found in the {where} "
                    f"({', '.join(served) or 'nothing'})",
                    file=self.config_file,
                    field="model-version",
                    fix="apply the InferenceService with the candidate's image (model-<version>) or "
                    "storageUri first",
                )

    def set_weights(self, canary_percent: float) -> None:
        if self.settings.mode == "standard":
            if canary_percent >= 100:
                obj = self._call("GET")
                canaries = (obj.get("spec") or {}).get("canary") or []
                if not canaries:
                    return  # already promoted
                self._call("PATCH", {"spec": {"predictor": canaries[0].get("predictor"), "canary": None}})
                return
            obj = self._call("GET")
            canaries = list((obj.get("spec") or {}).get("canary") or [])
            if not canaries:
                raise TargetError(f"{self.describe()}: spec.canary is gone (changed outside mlgate)")
            canaries[0] = {**canaries[0], "trafficPercent": round(canary_percent)}
            self._call("PATCH", {"spec": {"canary": canaries}})  # a merge patch replaces the list whole
            return
        value: int | None = None if canary_percent >= 100 else round(canary_percent)
        self._call("PATCH", {"spec": {"predictor": {"canaryTrafficPercent": value}}})

    def read_weights(self) -> float:
        obj = self._call("GET")
        if self.settings.mode == "standard":
            canaries = (obj.get("spec") or {}).get("canary") or []
            return float(canaries[0].get("trafficPercent", 0)) if canaries else 100.0
        traffic = ((obj.get("status") or {}).get("components") or {}).get("predictor", {}).get("traffic")
        if not isinstance(traffic, list) or not traffic:
            raise TargetError(f"{self.describe()}: no status.components.predictor.traffic yet")
        latest = [float(t.get("percent", 0)) for t in traffic if t.get("latestRevision")]
        if not latest:
            raise TargetError(f"{self.describe()}: no traffic entry with latestRevision: true")
        return sum(latest)
