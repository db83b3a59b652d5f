"""The bad-input catalogue of `mlgate canary` (issue 11): each malformed `canary` section (or the eval
decision threshold it reads) is one clear error naming the file and field, `failure-reason:
invalid-input`, exit 1, no traceback — and refused before any traffic moves (no nginx is started: the
cases point `canary.local` at a closed port, so a case that got as far as the router would fail
differently).

Each case runs the real `mlgate` CLI (tests/support/bad_inputs.py).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.bad_inputs import BadInput, check_bad_input


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLOSED = _closed_port()
LOCAL = (
    "  local:\n"
    f"    nginx_conf: nginx/nginx.conf\n    listen: 127.0.0.1:{CLOSED}\n"
    f"    baseline_upstream: 127.0.0.1:{CLOSED}\n    canary_upstream: 127.0.0.1:{CLOSED}\n"
    f"  prometheus:\n    url: http://127.0.0.1:{CLOSED}\n"
)


#: a sagemaker target that deploys the promoted version first (image_uri + role)
SAGEMAKER = (
    "  target: sagemaker\n  sagemaker:\n    endpoint_name: fraud-prod\n    region: us-east-1\n"
    "    image_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@{digest}\n"
    "    execution_role_arn: arn:aws:iam::123456789012:role/sm\n"
)

#: a sagemaker target without image_uri: the image comes from `--image-uri`
PUSHED_ONLY = "  target: sagemaker\n  sagemaker:\n    endpoint_name: fraud-prod\n    region: us-east-1\n"
ECR_REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud"
DIGEST = "sha256:" + "ab" * 32


def case(
    id: str,
    canary: str,
    names: str,
    *,
    extra: str = "",
    prometheus: str = "",
    argv: tuple[str, ...] = (),
) -> BadInput:
    """A case whose mlgate.yaml holds `canary:` with the given body (plus the closed-port addresses;
    `prometheus` adds lines to the `canary.prometheus` mapping)."""
    text = f"{extra}canary:\n{canary}{LOCAL}{prometheus}"
    return BadInput(
        id=id,
        argv=("canary", "--config", "mlgate.yaml", *argv),
        reason="invalid-input",
        names=names,
        files={"mlgate.yaml": text},
    )


CASES = [
    case("steps-not-increasing", "  steps: [5, 50, 25]\n", "canary.steps"),
    case("step-above-100", "  steps: [5, 150]\n", "canary.steps"),
    case("step-zero", "  steps: [0, 50]\n", "canary.steps"),
    case("steps-empty", "  steps: []\n", "canary.steps"),
    case("bake-zero", "  bake_seconds: 0\n", "canary.bake_seconds"),
    case("bake-not-a-number", "  bake_seconds: soon\n", "canary.bake_seconds"),
    case("interval-longer-than-bake", "  bake_seconds: 10\n  interval_seconds: 20\n", "interval_seconds"),
    case("min-requests-zero", "  min_requests: 0\n", "canary.min_requests"),
    case("max-inconclusive-zero", "  max_inconclusive: 0\n", "canary.max_inconclusive"),
    case("alpha-above-half", "  analysis:\n    alpha: 0.7\n", "canary.analysis.alpha"),
    case("power-above-one", "  analysis:\n    power: 1.5\n", "canary.analysis.power"),
    case("power-coin-flip", "  analysis:\n    power: 0.5\n", "canary.analysis.power"),
    case(
        "regression-not-above-one",
        "  analysis:\n    error_rate_regression: 1.0\n",
        "canary.analysis.error_rate_regression",
    ),
    case(
        "min-delta-negative",
        "  analysis:\n    error_rate_min_delta: -0.1\n",
        "canary.analysis.error_rate_min_delta",
    ),
    case(
        "latency-ratio-below-one",
        "  analysis:\n    latency_max_ratio: 0.9\n",
        "canary.analysis.latency_max_ratio",
    ),
    case("guard-above-one", "  analysis:\n    max_error_rate: 1.5\n", "canary.analysis.max_error_rate"),
    case("unknown-analysis-key", "  analysis:\n    alfa: 0.05\n", "canary.analysis.alfa"),
    case("signals-empty", "  analysis:\n    signals: []\n", "canary.analysis.signals"),
    case("signal-unknown", "  analysis:\n    signals: [errors]\n", "canary.analysis.signals"),
    case(
        "positive-threshold-above-one",
        "",
        "canary.prometheus.positive_threshold",
        prometheus="    positive_threshold: 2\n",
    ),
    case("target-unknown", "  target: istio\n", "canary.target"),
    case("sagemaker-without-endpoint", "  target: sagemaker\n", "endpoint_name"),
    case("kserve-without-name", "  target: kserve\n", "kserve.name"),
    case(
        "decision-threshold-above-one",
        "  target: local\n",
        "eval.decision_threshold",
        extra="eval:\n  decision_threshold: 1.7\n",
    ),
    case(
        "decision-threshold-not-a-number",
        "  target: local\n",
        "eval.decision_threshold",
        extra="eval:\n  decision_threshold: high\n",
    ),
    case("canary-server-not-running", "  target: local\n", "canary.local.canary_upstream"),
    case(
        "sagemaker-image-uri-unknown-placeholder",
        SAGEMAKER.replace("{digest}", "{sha}"),
        "canary.sagemaker",
    ),
    # no image_uri: the image CD pushed to ECR (cd.yml's `ecr-image`) must be an ECR reference by digest
    case(
        "sagemaker-pushed-image-not-in-ecr",
        PUSHED_ONLY,
        "image-uri",
        argv=("--model-version", "3", "--image-uri", "ghcr.io/acme/fraud@" + DIGEST),
    ),
    case(
        "sagemaker-pushed-image-not-by-digest",
        PUSHED_ONLY,
        "image-uri",
        argv=("--model-version", "3", "--image-uri", ECR_REPO + ":model-3"),
    ),
    case(
        "sagemaker-pushed-image-without-model-version",
        PUSHED_ONLY,
        "model-version",
        argv=("--image-uri", ECR_REPO + "@" + DIGEST),
    ),
    case(
        "sagemaker-deploy-timeout-zero",
        SAGEMAKER + "    deploy_timeout_seconds: 0\n",
        "canary.sagemaker.deploy_timeout_seconds",
    ),
    case("sagemaker-deploy-without-model-version", SAGEMAKER, "model-version"),
    case("sagemaker-deploy-without-digest", SAGEMAKER, "image-digest", argv=("--model-version", "3")),
    # AWS unreachable before the deploy's first call: deploy-error, the endpoint untouched
    BadInput(
        id="sagemaker-deploy-aws-unreachable",
        argv=("canary", "--config", "mlgate.yaml", "--model-version", "3", "--image-digest", "sha256:ab"),
        reason="deploy-error",
        names="canary.sagemaker",
        files={"mlgate.yaml": f"canary:\n{SAGEMAKER}{LOCAL}"},
        env={
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{CLOSED}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_MAX_ATTEMPTS": "1",
        },
    ),
]


def test_the_catalogue_has_distinct_cases() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 12


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_canary_input_is_one_clear_error_and_moves_no_traffic(
    bad: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(bad, tmp_path, monkeypatch, capsys)
    assert not (tmp_path / "nginx" / "nginx.pid").exists(), "traffic router started on bad input"
