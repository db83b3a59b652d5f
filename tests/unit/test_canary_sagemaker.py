"""`mlgate canary` with target `sagemaker` against moto's server (real HTTP, real boto3): champion and
challenger production variants, UpdateEndpointWeightsAndCapacities, per-variant CloudWatch metrics, and
the deploy of the promoted version onto the challenger variant (CreateModel, CreateEndpointConfig and
UpdateEndpoint — the last through tests/support/moto_sagemaker.py, the stand-in for the one API moto lacks).

A feeder thread plays the endpoint's traffic: every tick it reads the variant weights and publishes
Invocations / Invocation5XXErrors per variant, the way SageMaker would.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgate.cli import main
from tests.support import moto_sagemaker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("flask") is None, reason="needs moto[server] (dev group)"),
]


@pytest.fixture
def aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """moto's server with UpdateEndpoint; `indirect` parametrisation names SageMaker actions to fail."""
    with moto_sagemaker.serve(faults=tuple(getattr(request, "param", ()))) as url:
        for name, value in {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
        yield url


def clients() -> tuple[Any, Any]:
    import boto3

    return boto3.client("sagemaker"), boto3.client("cloudwatch")


def make_endpoint(name: str = "fraud-detection-prod", **champion: Any) -> None:
    """Champion v1 and challenger v2 variants; `champion` adds CreateModel fields to v1 (VPC, isolation)."""
    sm, _ = clients()
    for model in ("fraud-detection-v1", "fraud-detection-v2"):
        fields: dict[str, Any] = {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
            "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:latest"},
        }
        sm.create_model(ModelName=model, **{**fields, **(champion if model.endswith("v1") else {})})
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-cfg",
        ProductionVariants=[
            {
                "VariantName": "champion",
                "ModelName": "fraud-detection-v1",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 100,
            },
            {
                "VariantName": "challenger",
                "ModelName": "fraud-detection-v2",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 0,
            },
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg")


class Feeder:
    """Publishes per-variant invocations in proportion to the current weights (bounded in time)."""

    def __init__(self, endpoint: str, *, canary_error_rate: float, rate: int = 400) -> None:
        self.endpoint, self.canary_error_rate, self.rate = endpoint, canary_error_rate, rate
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        sm, cw = clients()
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                variants = sm.describe_endpoint(EndpointName=self.endpoint)["ProductionVariants"]
            except Exception:  # noqa: BLE001 - endpoint deleted by the test: stop feeding
                return
            weights = {v["VariantName"]: float(v.get("CurrentWeight") or 0) for v in variants}
            total = sum(weights.values()) or 1
            data = []
            for variant, weight in weights.items():
                n = round(self.rate * weight / total)
                errors = round(n * (self.canary_error_rate if variant == "challenger" else 0.01))
                dims = [
                    {"Name": "EndpointName", "Value": self.endpoint},
                    {"Name": "VariantName", "Value": variant},
                ]
                now = dt.datetime.now(dt.UTC)
                data += [
                    {"MetricName": "Invocations", "Dimensions": dims, "Value": n, "Timestamp": now},
                    {
                        "MetricName": "Invocation5XXErrors",
                        "Dimensions": dims,
                        "Value": errors,
                        "Timestamp": now,
                    },
                ]
            cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)
            self.stop.wait(0.5)

    def __enter__(self) -> Feeder:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def config(tmp_path: Path, **overrides: Any) -> Path:
    section: dict[str, Any] = {
        "target": "sagemaker",
        "steps": [10, 50, 100],
        "bake_seconds": 1.5,
        "min_requests": 50,
        "max_inconclusive": 2,
        # a few hundred challenger requests cannot rule out a 2x error rate; 5 % errors they can
        "analysis": {"signals": ["error-rate"], "error_rate_min_delta": 0.05},
        "sagemaker": {"endpoint_name": "fraud-detection-prod", "metrics_period_seconds": 60},
    }
    for key, value in overrides.items():
        section[key] = {**section[key], **value} if isinstance(value, dict) else value
    path = tmp_path / "mlgate.yaml"
    path.write_text(yaml.safe_dump({"canary": section}), encoding="utf-8")
    return path


def run(path: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report"
    code = main(["canary", "--config", str(path), "--report-dir", str(report), *extra])
    result = report / "canary.json"
    return code, json.loads(result.read_text())["data"] if result.exists() else {}


def canary_weight() -> float:
    sm, _ = clients()
    variants = sm.describe_endpoint(EndpointName="fraud-detection-prod")["ProductionVariants"]
    return float(next(v for v in variants if v["VariantName"] == "challenger").get("CurrentWeight") or 0)


def test_healthy_challenger_is_promoted(aws: str, tmp_path: Path) -> None:
    make_endpoint()
    with Feeder("fraud-detection-prod", canary_error_rate=0.01):
        code, data = run(config(tmp_path), tmp_path, "--model-version", "v2")
    assert code == 0, json.dumps(data.get("timeline"), indent=1)
    assert data["result"] == "promoted"
    assert canary_weight() == 100.0


def test_bad_challenger_rolls_back_to_the_champion(aws: str, tmp_path: Path) -> None:
    make_endpoint()
    with Feeder("fraud-detection-prod", canary_error_rate=0.3):
        code, data = run(config(tmp_path), tmp_path)
    assert code == 1
    assert (data["result"], data["failure_reason"], data["rollback_verified"]) == (
        "rolled-back",
        "error-rate",
        True,
    )
    assert canary_weight() == 0.0


def test_missing_latency_percentiles_are_inconclusive_then_roll_back(aws: str, tmp_path: Path) -> None:
    """moto's CloudWatch returns no ExtendedStatistics: latency has no data, so it never passes."""
    make_endpoint()
    with Feeder("fraud-detection-prod", canary_error_rate=0.01):
        code, data = run(config(tmp_path, analysis={"signals": ["error-rate", "latency"]}), tmp_path)
    assert code == 1
    assert (data["result"], data["failure_reason"]) == ("rolled-back", "no-data")
    assert canary_weight() == 0.0


def test_target_error_mid_run_rolls_back(aws: str, tmp_path: Path) -> None:
    make_endpoint()
    sm, _ = clients()

    def delete_after_first_shift() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and canary_weight() == 0:
            time.sleep(0.1)
        sm.delete_endpoint(EndpointName="fraud-detection-prod")

    threading.Thread(target=delete_after_first_shift, daemon=True).start()
    with Feeder("fraud-detection-prod", canary_error_rate=0.01):
        code, data = run(config(tmp_path, bake_seconds=3), tmp_path)
    assert code == 1
    assert (data["result"], data["failure_reason"]) == ("rolled-back", "target-error")
    assert data["rollback_verified"] is False  # the endpoint is gone: the report says so, loudly


@pytest.mark.parametrize(
    ("overrides", "args", "message"),
    [
        ({"sagemaker": {"endpoint_name": "nope"}}, (), "Could not find endpoint"),
        ({"sagemaker": {"canary_variant": "blue"}}, (), "variant 'blue' not on endpoint"),
        ({}, ("--model-version", "v7"), "model version 'v7' not found"),
        ({"analysis": {"signals": ["prediction-shift"]}}, (), "cannot provide prediction-shift"),
    ],
    ids=["endpoint-missing", "variant-missing", "version-not-found", "signal-unavailable"],
)
def test_bad_input_is_one_clear_error_and_traffic_stays_on_the_champion(  # noqa: PLR0917 - pytest fixtures
    aws: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    overrides: dict[str, Any],
    args: tuple[str, ...],
    message: str,
) -> None:
    make_endpoint()
    code, data = run(config(tmp_path, **overrides), tmp_path, *args)
    assert code == 1 and data == {}
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert canary_weight() == 0.0
    assert os.environ["AWS_ENDPOINT_URL"] == aws


@pytest.mark.parametrize(("p95", "p99"), [(0.015, 0.030), (0.080, 0.300), (0.004, 0.006), (0.9, 4.0)])
def test_cloudwatch_latency_ladder_holds_every_bound_the_judge_needs(p95: float, p99: float) -> None:
    """The bounds asked for as PR(:bound) bracket p95 - 10 ms, p95 / 1.25, p95 and p99 (at most 10)."""
    from mlgate.canary.targets.sagemaker import LATENCY_BOUNDS, ladder_around

    bounds = ladder_around(p95, p99, 1.25, 0.010)
    assert len(bounds) <= 10 and bounds == sorted(set(bounds))
    for target in (p95 - 0.010, p95 / 1.25, p95, p99):
        if target >= LATENCY_BOUNDS[0]:
            assert any(b <= target for b in bounds), target
        if target <= LATENCY_BOUNDS[-1]:
            assert any(b >= target for b in bounds), target


# --- deploy: the promoted version onto the challenger variant at 0 %, then the canary ----------------------

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud"
DEPLOY = {
    "image_uri": ECR + ":{version}@{digest}",
    "execution_role_arn": "arn:aws:iam::123456789012:role/sagemaker",
    "deploy_timeout_seconds": 30,
}
DIGEST = "sha256:" + "ab" * 32


def endpoint_state() -> tuple[str, dict[str, tuple[str, float]]]:
    """The endpoint's config name and, per variant, (model, initial weight) of that config."""
    sm, _ = clients()
    name = sm.describe_endpoint(EndpointName="fraud-detection-prod")["EndpointConfigName"]
    variants = sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"]
    return name, {
        v["VariantName"]: (v["ModelName"], float(v.get("InitialVariantWeight") or 0)) for v in variants
    }


def deployer(log: list[str], **overrides: Any) -> Any:
    import boto3

    from mlgate.canary.config import SageMakerSettings
    from mlgate.canary.targets.sagemaker_deploy import SageMakerDeployer

    pushed = overrides.pop("pushed_image", "")
    settings = SageMakerSettings(**{"endpoint_name": "fraud-detection-prod", **DEPLOY, **overrides})
    return SageMakerDeployer(
        settings, boto3.client("sagemaker"), pushed_image=pushed, poll_seconds=0.2, log=log.append
    )


def test_promoted_version_becomes_the_challenger_at_zero_then_goes_through_the_canary(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_endpoint()
    with Feeder("fraud-detection-prod", canary_error_rate=0.01):
        code, data = run(
            config(tmp_path, sagemaker=DEPLOY), tmp_path, "--model-version", "3.1", "--image-digest", DIGEST
        )
    err = capsys.readouterr().err
    assert code == 0, err
    assert data["result"] == "promoted" and canary_weight() == 100.0
    # the new config: champion unchanged, challenger on the promoted version's model at weight 0
    assert endpoint_state() == (
        "fraud-detection-prod-3-1",
        {"champion": ("fraud-detection-v1", 100.0), "challenger": ("fraud-detection-prod-3-1", 0.0)},
    )
    sm, _ = clients()
    model = sm.describe_model(ModelName="fraud-detection-prod-3-1")
    assert model["PrimaryContainer"]["Image"] == f"{ECR}:3.1@{DIGEST}"
    assert model["ExecutionRoleArn"] == DEPLOY["execution_role_arn"]
    assert err.index("UpdateEndpoint fraud-detection-prod -> fraud-detection-prod-3-1") < err.index(
        "InService"
    )
    # the next version: the promoted model (all the traffic, on the challenger) becomes the champion
    log: list[str] = []
    deployer(log).deploy("3.2", DIGEST)
    assert endpoint_state()[1] == {
        "champion": ("fraud-detection-prod-3-1", 100.0),
        "challenger": ("fraud-detection-prod-3-2", 0.0),
    }
    assert canary_weight() == 0.0


VPC = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}
PUSHED = f"{ECR}@{DIGEST}"  # cd.yml: the image job's `ecr-image`


def test_without_image_uri_the_image_cd_pushed_to_ecr_is_deployed_in_the_production_models_vpc(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No image_uri, no execution_role_arn: the Model runs the pushed image with the production model's
    role, VPC and network isolation (as Terraform's sagemaker-endpoint module sets them)."""
    role = "arn:aws:iam::123456789012:role/terraform-made"
    make_endpoint(ExecutionRoleArn=role, VpcConfig=VPC, EnableNetworkIsolation=True)
    with Feeder("fraud-detection-prod", canary_error_rate=0.01):
        code, data = run(config(tmp_path), tmp_path, "--model-version", "3.1", "--image-uri", PUSHED)
    assert code == 0, capsys.readouterr().err
    assert data["result"] == "promoted"
    sm, _ = clients()
    model = sm.describe_model(ModelName="fraud-detection-prod-3-1")
    assert model["PrimaryContainer"]["Image"] == PUSHED
    assert model["ExecutionRoleArn"] == role
    assert model["VpcConfig"] == VPC
    assert model["EnableNetworkIsolation"] is True


@pytest.mark.parametrize("isolated", [True, False])
def test_the_new_model_copies_isolation_as_set_and_an_explicit_role_wins(aws: str, isolated: bool) -> None:
    make_endpoint(EnableNetworkIsolation=isolated)
    log: list[str] = []
    explicit = "arn:aws:iam::123456789012:role/explicit"
    deployer(log, image_uri=None, execution_role_arn=explicit, pushed_image=PUSHED).deploy("3.1")
    sm, _ = clients()
    model = sm.describe_model(ModelName="fraud-detection-prod-3-1")
    assert model["EnableNetworkIsolation"] is isolated
    assert model["ExecutionRoleArn"] == explicit  # set in mlgate.yaml: not the production model's
    assert not model.get("VpcConfig"), "the production model has no VPC: none is invented"
    created = next(line for line in log if "created model" in line)
    assert "ExecutionRoleArn from" not in created and ("EnableNetworkIsolation from" in created) is isolated


def test_an_explicit_image_uri_wins_over_the_pushed_image(aws: str) -> None:
    make_endpoint()
    deployer([], pushed_image=f"{ECR}-other@{DIGEST}").deploy("3.1", DIGEST)
    sm, _ = clients()
    assert sm.describe_model(ModelName="fraud-detection-prod-3-1")["PrimaryContainer"]["Image"] == (
        f"{ECR}:3.1@{DIGEST}"
    )


@pytest.mark.parametrize(
    "aws", [("CreateModel",), ("CreateEndpointConfig",), ("UpdateEndpoint",)], indirect=True, ids=str
)
def test_an_aws_error_before_traffic_moves_leaves_the_old_config(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_endpoint()
    before = endpoint_state()
    code, data = run(
        config(tmp_path, sagemaker=DEPLOY), tmp_path, "--model-version", "3.1", "--image-digest", DIGEST
    )
    err = capsys.readouterr().err
    assert code == 1 and data == {}
    assert 'failure-reason="deploy-error"' in (tmp_path / "out" / "outputs.env").read_text()
    assert "injected fault" in err and "stays on its previous config" in err and "Traceback" not in err
    assert endpoint_state() == before and canary_weight() == 0.0


def test_an_update_sagemaker_rolls_back_is_a_deploy_error(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SageMaker keeps the endpoint on its old config when the new model fails its health check."""
    make_endpoint()
    before = endpoint_state()
    broken = {**DEPLOY, "image_uri": ECR + ":broken-{version}"}
    code, _ = run(config(tmp_path, sagemaker=broken), tmp_path, "--model-version", "3.1")
    err = capsys.readouterr().err
    assert code == 1
    assert 'failure-reason="deploy-error"' in (tmp_path / "out" / "outputs.env").read_text()
    assert "rolled the update of fraud-detection-prod back" in err and "ping health check" in err
    assert endpoint_state() == before


def test_a_rerun_for_the_same_version_reuses_the_names(aws: str) -> None:
    make_endpoint()
    sm, _ = clients()
    log: list[str] = []
    assert deployer(log).deploy("3.1", DIGEST) == "fraud-detection-prod-3-1"
    assert deployer(log).deploy("3.1", DIGEST) == "fraud-detection-prod-3-1"
    assert "already runs config fraud-detection-prod-3-1 (re-run): no update" in log[-1]
    # an earlier run created the model and config but the endpoint is back on the old config: both reused
    sm.update_endpoint(EndpointName="fraud-detection-prod", EndpointConfigName="fraud-detection-prod-cfg")
    log.clear()
    deployer(log).deploy("3.1", DIGEST)
    assert any("model fraud-detection-prod-3-1 exists (re-run): reused" in line for line in log)
    assert any("endpoint config fraud-detection-prod-3-1 exists (re-run): reused" in line for line in log)
    assert endpoint_state()[0] == "fraud-detection-prod-3-1"
    assert len(sm.list_models()["Models"]) == 3
    assert len(sm.list_endpoint_configs()["EndpointConfigs"]) == 2


def test_a_stale_model_of_the_same_name_is_never_reused(aws: str) -> None:
    from mlgate.gate import GateInputError

    make_endpoint()
    sm, _ = clients()
    sm.create_model(
        ModelName="fraud-detection-prod-3-1",
        ExecutionRoleArn=DEPLOY["execution_role_arn"],
        PrimaryContainer={"Image": f"{ECR}:old"},
    )
    before = endpoint_state()
    with pytest.raises(GateInputError, match=r"already exists with image .*:old") as raised:
        deployer([]).deploy("3.1", DIGEST)
    assert raised.value.reason == "deploy-error"
    assert endpoint_state() == before


def test_a_missing_endpoint_is_bad_input_not_a_deploy_error(aws: str) -> None:
    from mlgate.gate import GateInputError

    with pytest.raises(GateInputError, match="endpoint nope not found") as raised:
        deployer([], endpoint_name="nope").deploy("3.1", DIGEST)
    assert (raised.value.reason, raised.value.field) == ("invalid-input", "canary.sagemaker.endpoint_name")
