"""Put the promoted model on the SageMaker endpoint's challenger variant at 0 % before the canary runs.

The image is `canary.sagemaker.image_uri` when set (a template filled with the version and the pushed
image's digest), else the image CD pushed to the project's ECR repository (`--image-uri`, cd.yml: the image
job's `ecr-image`, `<repository>@sha256:…`). mlgate creates a Model `<endpoint>-<version>` on it, an
EndpointConfig of the same name that copies the endpoint's current one — the champion variant unchanged,
the challenger variant on the new model at weight 0 — then `UpdateEndpoint`, and a bounded wait until the
endpoint is `InService` on the new config. Traffic does not move: the canary's first step does that.

The new Model keeps what the production model (the champion variant's) was set up with:
`ExecutionRoleArn` (unless `execution_role_arn` names another), `VpcConfig` and
`EnableNetworkIsolation` — a promoted model never leaves the endpoint's VPC or gains network access.

Fail closed: every AWS error before the update, or an update that SageMaker rolled back, fails the run
with `failure-reason: deploy-error` and leaves the endpoint on its old config. Names are deterministic per
version, so a re-run reuses the Model and EndpointConfig it created (and checks they are what it would
create) and skips the update when the endpoint is already on the config.

After a promoted canary the challenger variant carries all the traffic; the next deploy then moves that
model to the champion variant (it is the champion now) so the new challenger never starts with the traffic.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from mlgate.canary.config import SageMakerSettings
from mlgate.gate import GateInputError

REASON = "deploy-error"
#: SageMaker resource names: alphanumerics and hyphens, at most 63 characters
_NAME_MAX = 63
#: what the new Model copies from the production model (what a user or Terraform set on it)
COPIED = ("ExecutionRoleArn", "VpcConfig", "EnableNetworkIsolation")
_DIGEST_REF = re.compile(r"^(?P<repository>[^@\s]+)@sha256:[0-9a-f]{64}$")


def resource_name(endpoint: str, version: str) -> str:
    """The Model and EndpointConfig name for `version` (deterministic; a re-run finds the same)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{endpoint}-{version}").strip("-")
    return slug[:_NAME_MAX].rstrip("-")


class SageMakerDeployer:
    """Creates the challenger's Model and EndpointConfig and updates the endpoint (see the module doc)."""

    def __init__(
        self,
        settings: SageMakerSettings,
        client: Any,
        *,
        config_file: str = "mlgate.yaml",
        pushed_image: str = "",
        poll_seconds: float = 15.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.client = client
        self.config_file = config_file
        self.pushed_image = pushed_image
        self.poll_seconds = poll_seconds
        self.log = log

    def _fail(self, problem: str, fix: str, field: str = "canary.sagemaker") -> GateInputError:
        return GateInputError(
            f"{problem}; the endpoint stays on its previous config, no traffic moved",
            file=self.config_file,
            field=field,
            fix=fix,
            reason=REASON,
        )

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return dict(getattr(self.client, operation)(**kwargs))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(
                f"SageMaker {operation}: {exc}",
                "check the AWS credentials, region and role permissions (see the canary guide), then re-run",
            ) from None

    def _find(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """Describe a resource; None when it does not exist (SageMaker says so with a ValidationException)."""
        from botocore.exceptions import ClientError

        try:
            return dict(getattr(self.client, operation)(**kwargs))
        except ClientError as exc:
            if "Could not find" not in str(exc):
                raise self._fail(f"SageMaker {operation}: {exc}", "check the AWS role and re-run") from None
        except Exception as exc:  # noqa: BLE001 - botocore's connection and credential errors
            raise self._fail(f"SageMaker {operation}: {exc}", "check the AWS role and re-run") from None
        return None

    def _pushed(self) -> str:
        """The image CD pushed to ECR, by digest (checked: SageMaker pulls only from a private ECR)."""
        from mlgate.deploy.image import ecr_repository

        found = _DIGEST_REF.match(self.pushed_image.strip())
        if found is None:
            raise GateInputError(
                f"{self.pushed_image!r} is not an image reference by digest (<repository>@sha256:<64 hex>)",
                file=self.config_file,
                field="image-uri",
                fix="pass the image job's `ecr-image` output (cd.yml) or set canary.sagemaker.image_uri",
            )
        try:
            ecr_repository(found["repository"])
        except GateInputError:
            raise GateInputError(
                f"{self.pushed_image!r} is not in an ECR repository: SageMaker pulls images only from ECR",
                file=self.config_file,
                field="image-uri",
                fix="set the ECR_REPOSITORY variable (terraform output image_repository_url) so CD pushes "
                "there, or set canary.sagemaker.image_uri",
            ) from None
        return self.pushed_image.strip()

    def image(self, version: str, digest: str) -> str:
        template = self.settings.image_uri or ""
        if not template:
            return self._pushed()
        if "{digest}" in template and not digest:
            raise GateInputError(
                "canary.sagemaker.image_uri uses {digest} but no image digest was given",
                file=self.config_file,
                field="image-digest",
                fix="pass --image-digest (cd.yml: the image job's `digest` output)",
            )
        return template.format(version=version, digest=digest)

    def deploy(self, version: str, digest: str = "") -> str:
        """Put `version` on the challenger variant at weight 0; returns the EndpointConfig name."""
        s = self.settings
        if not version:
            raise GateInputError(
                "an image to deploy is given (canary.sagemaker.image_uri or --image-uri) but no model "
                "version",
                file=self.config_file,
                field="model-version",
                fix="pass --model-version (the promoted version)",
            )
        image = self.image(version, digest)
        name = resource_name(s.endpoint_name, version)
        endpoint = self._find("describe_endpoint", EndpointName=s.endpoint_name)
        if endpoint is None:
            raise GateInputError(
                f"endpoint {s.endpoint_name} not found",
                file=self.config_file,
                field="canary.sagemaker.endpoint_name",
                fix="create the endpoint first (terraform: serve_on_sagemaker) or fix its name",
            )
        if endpoint.get("EndpointConfigName") == name:
            self.log(f"sagemaker deploy: {s.endpoint_name} already runs config {name} (re-run): no update")
            return name
        if endpoint.get("EndpointStatus") != "InService":
            raise self._fail(
                f"endpoint {s.endpoint_name} is {endpoint.get('EndpointStatus')}, not InService",
                "wait for the endpoint's current update to finish, then re-run",
            )
        current = self._call("describe_endpoint_config", EndpointConfigName=endpoint["EndpointConfigName"])
        variants = self._variants(current, endpoint, name)
        production = next(v["ModelName"] for v in variants if v["VariantName"] == s.baseline_variant)
        self._ensure_model(name, image, version, production)
        self._ensure_config(name, current, variants)
        self.log(f"sagemaker deploy: UpdateEndpoint {s.endpoint_name} -> {name} (challenger {image} at 0 %)")
        self._call("update_endpoint", EndpointName=s.endpoint_name, EndpointConfigName=name)
        self._wait(name, previous=endpoint["EndpointConfigName"])
        return name

    def _variants(
        self, current: dict[str, Any], endpoint: dict[str, Any], model: str
    ) -> list[dict[str, Any]]:
        """The current config's variants as request fields: champion unchanged (or, after a promotion, on
        the model that carries the traffic), challenger on `model` at weight 0."""
        s = self.settings
        allowed = set(self.client.meta.service_model.shape_for("ProductionVariant").members)
        variants = {
            v["VariantName"]: {k: v[k] for k in v if k in allowed} for v in current["ProductionVariants"]
        }
        for field, name in (("baseline_variant", s.baseline_variant), ("canary_variant", s.canary_variant)):
            if name not in variants:
                raise GateInputError(
                    f"variant {name!r} not in endpoint config {current['EndpointConfigName']} "
                    f"(has {', '.join(sorted(variants))})",
                    file=self.config_file,
                    field=f"canary.sagemaker.{field}",
                    fix="name one of the endpoint's production variants",
                )
        weights = {
            v["VariantName"]: float(v.get("CurrentWeight") or 0)
            for v in endpoint.get("ProductionVariants", [])
        }
        champion, challenger = variants[s.baseline_variant], variants[s.canary_variant]
        if weights.get(s.baseline_variant, 0) <= 0 < weights.get(s.canary_variant, 0):
            self.log(
                f"sagemaker deploy: the challenger's {challenger['ModelName']} carries the traffic "
                "(promoted): it moves to the champion variant"
            )
            champion["ModelName"] = challenger["ModelName"]
        champion["InitialVariantWeight"] = 100.0
        challenger["ModelName"] = model
        challenger["InitialVariantWeight"] = 0.0
        return list(variants.values())

    def _copied(self, production: str) -> dict[str, Any]:
        """Role, VPC and network isolation of the production model, for the new Model (see the module doc);
        `execution_role_arn`, when set, names the role instead."""
        model = self._call("describe_model", ModelName=production)
        copied = {k: model[k] for k in COPIED if model.get(k)}
        if self.settings.execution_role_arn:
            copied.pop("ExecutionRoleArn", None)
        return copied

    def _ensure_model(self, name: str, image: str, version: str, production: str) -> None:
        found = self._find("describe_model", ModelName=name)
        if found is not None:
            have = (found.get("PrimaryContainer") or {}).get("Image")
            if have != image:
                raise self._fail(
                    f"model {name} already exists with image {have}, not {image}",
                    "delete the stale model (aws sagemaker delete-model) or fix image_uri",
                    "canary.sagemaker.image_uri",
                )
            self.log(f"sagemaker deploy: model {name} exists (re-run): reused")
            return
        copied = self._copied(production)
        explicit = self.settings.execution_role_arn
        role = {"ExecutionRoleArn": explicit} if explicit else {}
        self._call(
            "create_model",
            ModelName=name,
            PrimaryContainer={"Image": image, "Environment": {"MODEL_VERSION": version}},
            Tags=[{"Key": "mlgate:model-version", "Value": version}],
            **copied,
            **role,
        )
        kept = ", ".join(f"{k} from {production}" for k in copied) or "nothing to keep"
        self.log(f"sagemaker deploy: created model {name} ({image}; {kept})")

    def _ensure_config(self, name: str, current: dict[str, Any], variants: list[dict[str, Any]]) -> None:
        found = self._find("describe_endpoint_config", EndpointConfigName=name)
        if found is not None:
            models = {v["VariantName"]: v.get("ModelName") for v in found.get("ProductionVariants", [])}
            if models.get(self.settings.canary_variant) != name:
                raise self._fail(
                    f"endpoint config {name} already exists with challenger model "
                    f"{models.get(self.settings.canary_variant)}, not {name}",
                    "delete the stale endpoint config (aws sagemaker delete-endpoint-config) and re-run",
                )
            self.log(f"sagemaker deploy: endpoint config {name} exists (re-run): reused")
            return
        extra = {
            k: current[k] for k in ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig") if current.get(k)
        }
        self._call("create_endpoint_config", EndpointConfigName=name, ProductionVariants=variants, **extra)
        self.log(f"sagemaker deploy: created endpoint config {name}")

    def _wait(self, name: str, *, previous: str) -> None:
        s = self.settings
        start = time.monotonic()
        while True:
            endpoint = self._call("describe_endpoint", EndpointName=s.endpoint_name)
            status, elapsed = endpoint.get("EndpointStatus"), time.monotonic() - start
            why = endpoint.get("FailureReason") or "no reason given"
            if status == "InService":
                if endpoint.get("EndpointConfigName") != name:
                    raise self._fail(
                        f"SageMaker rolled the update of {s.endpoint_name} back to "
                        f"{endpoint.get('EndpointConfigName')}: {why}",
                        "fix the model (image, role, instance type) from the FailureReason and re-run",
                    )
                self.log(f"sagemaker deploy: {s.endpoint_name} InService on {name} after {elapsed:.0f} s")
                return
            if status in ("Failed", "OutOfService"):
                raise GateInputError(
                    f"endpoint {s.endpoint_name} is {status} after UpdateEndpoint to {name} "
                    f"(was {previous}): {why}",
                    file=self.config_file,
                    field="canary.sagemaker",
                    fix="fix the model from the FailureReason, then update the endpoint back to the previous "
                    "config",
                    reason=REASON,
                )
            if elapsed > s.deploy_timeout_seconds:
                raise GateInputError(
                    f"endpoint {s.endpoint_name} still {status} after {s.deploy_timeout_seconds:g} s "
                    f"(UpdateEndpoint to {name}); the challenger is at weight 0, no canary traffic moved",
                    file=self.config_file,
                    field="canary.sagemaker.deploy_timeout_seconds",
                    fix="re-run when the endpoint is InService (the re-run reuses the config) or raise "
                    "the timeout",
                    reason=REASON,
                )
            self.log(f"sagemaker deploy: {s.endpoint_name} {status} ({elapsed:.0f} s)")
            time.sleep(self.poll_seconds)
