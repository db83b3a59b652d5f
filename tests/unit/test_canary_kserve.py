"""`mlgate canary` with target `kserve` against a local stand-in of the Kubernetes API (the documented
InferenceService request/response shapes, see tests/support/fake_kserve.py — not a cluster), reached
through lightkube with a kubeconfig (static token, or an exec credential plugin whose token expires
mid-rollout) or in-cluster (service-account token and the cluster CA over verified TLS), with metrics
from a real Prometheus scraping two model servers that receive traffic in the split the
InferenceService status reports. Serverless (`canaryTrafficPercent`) and Standard (`spec.canary`) modes.
"""

from __future__ import annotations

import json
import random
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mlgate.cli import main
from tests.support.canary_stack import CanaryStack
from tests.support.fake_kserve import FakeKServe, write_kubeconfig

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not shutil.which("prometheus"), reason="needs prometheus (apt-get install prometheus)"
    ),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CanaryStack]:
    s = CanaryStack(tmp_path_factory.mktemp("kserve-stack"))
    try:
        yield s.start()
    finally:
        s.stop()


@pytest.fixture
def kserve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeKServe]:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    with FakeKServe(token="sa-token") as fake:
        yield fake


class SplitLoad:
    """Sends /predict to the baseline or canary server in the split the InferenceService reports."""

    def __init__(self, stack: CanaryStack, fake: FakeKServe, rate: float = 60.0) -> None:
        self.stack, self.fake, self.rate = stack, fake, rate
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        rng = random.Random(0)  # noqa: S311 - traffic split simulation
        deadline = time.monotonic() + 90
        with httpx.Client(timeout=5.0) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                canary = rng.random() * 100 < self.fake.canary_percent()
                port = self.stack.canary_port if canary else self.stack.baseline_port
                client.post(f"http://127.0.0.1:{port}/predict", json={"amount": 3.0})
                self.stop.wait(1.0 / self.rate)

    def __enter__(self) -> SplitLoad:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def config(
    tmp_path: Path,
    stack: CanaryStack,
    fake: FakeKServe,
    token: str = "sa-token",  # noqa: S107 - a test token
    **kserve: Any,
) -> Path:
    if "kubeconfig" not in kserve and "service_account_dir" not in kserve:
        kserve["kubeconfig"] = str(write_kubeconfig(tmp_path / "kubeconfig", fake.url, token=token))
    section = {
        "target": "kserve",
        "steps": [20, 50, 100],
        "bake_seconds": 3,
        "min_requests": 20,
        "max_inconclusive": 3,
        # a few dozen canary requests without errors cannot rule out a 2x error rate; 10 % errors they can
        "analysis": {"error_rate_min_delta": 0.1},
        "prometheus": {"url": stack.prometheus_url},
        "kserve": {"namespace": "models", "name": "fraud-detection", **kserve},
    }
    path = tmp_path / "mlgate.yaml"
    path.write_text(yaml.safe_dump({"canary": section}), encoding="utf-8")
    return path


def run(path: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report"
    code = main(["canary", "--config", str(path), "--report-dir", str(report), *extra])
    result = report / "canary.json"
    return code, json.loads(result.read_text())["data"] if result.exists() else {}


def test_healthy_canary_is_promoted_by_removing_canary_traffic_percent(
    stack: CanaryStack, kserve: FakeKServe, tmp_path: Path
) -> None:
    with SplitLoad(stack, kserve):
        code, data = run(config(tmp_path, stack, kserve), tmp_path, "--model-version", "fraud-detection/2")
    assert code == 0, json.dumps(data.get("timeline"), indent=1)
    assert data["result"] == "promoted"
    assert kserve.canary_percent() == 100.0
    percents = [p["spec"]["predictor"]["canaryTrafficPercent"] for p in kserve.patches]
    assert percents == [20, 50, None]  # promotion removes the field, as KServe's docs describe


def test_api_error_rolls_back_and_verifies(stack: CanaryStack, kserve: FakeKServe, tmp_path: Path) -> None:
    kserve.fail_patches = 1  # the first shift fails with a 500 from the API server
    code, data = run(config(tmp_path, stack, kserve), tmp_path)
    assert code == 1
    assert (data["result"], data["failure_reason"], data["rollback_verified"]) == (
        "rolled-back",
        "target-error",
        True,
    )
    assert "HTTP 500" in json.dumps(data["timeline"])
    assert kserve.canary_percent() == 0.0


@pytest.mark.parametrize(
    ("kserve_settings", "args", "message"),
    [
        ({"name": "missing"}, (), 'inferenceservices.serving.kserve.io \\"missing\\" not found'),
        ({"token": "wrong-token"}, (), "HTTP 401"),
        ({}, ("--model-version", "fraud-detection/9"), "not found in the predictor"),
        ({"kubeconfig": "/nonexistent/kubeconfig"}, (), "no usable Kubernetes configuration"),
    ],
    ids=["isvc-missing", "unauthorised", "version-not-found", "no-kubeconfig"],
)
def test_bad_input_leaves_traffic_on_the_baseline(  # noqa: PLR0917 - pytest fixtures
    stack: CanaryStack,
    kserve: FakeKServe,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kserve_settings: dict[str, Any],
    args: tuple[str, ...],
    message: str,
) -> None:
    code, data = run(config(tmp_path, stack, kserve, **kserve_settings), tmp_path, *args)
    assert code == 1 and data == {}
    assert message.replace("\\", "") in capsys.readouterr().err
    assert kserve.patches == [] and kserve.canary_percent() == 0.0


def test_timeline_reaches_outputs_summary_and_the_merged_pr(
    stack: CanaryStack, kserve: FakeKServe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.fake_github import FakeGitHub

    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"
    kserve.fail_patches = 1
    with FakeGitHub() as github:
        for name, value in {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": "t",
            "GITHUB_REPOSITORY": "acme/fraud-detection",
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
            "MLGATE_PR_NUMBER": "7",
        }.items():
            monkeypatch.setenv(name, value)
        code, data = run(config(tmp_path, stack, kserve), tmp_path, "--environment", "prod", "--comment")
        comments = github.comments_on(7)
    assert code == 1 and data["result"] == "rolled-back"
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith("<!-- mlgate:canary:prod -->")
    assert "rolled back (target-error)" in body and "weights read back: canary 0 %" in body
    text = outputs.read_text()
    assert "rolled-back" in text and "target-error" in text and "timeline-path" in text
    assert "| rollback |" in summary.read_text()


def test_window_counts_are_exact_counts_of_what_each_arm_served(stack: CanaryStack) -> None:
    """The judge's inputs are real counts (no `increase()` extrapolation): what the servers answered."""
    from mlgate.canary.config import PrometheusSettings
    from mlgate.canary.prometheus import PrometheusMetrics

    metrics = PrometheusMetrics(PrometheusSettings(url=stack.prometheus_url))
    time.sleep(2.5)  # earlier tests' traffic is scraped before the window opens
    opened = time.time()
    time.sleep(1.2)
    with httpx.Client(timeout=5.0) as client:
        for port, n in ((stack.baseline_port, 37), (stack.canary_port, 11)):
            for _ in range(n):
                client.post(f"http://127.0.0.1:{port}/predict", json={"amount": 3.0})
    time.sleep(3.5)  # a few scrapes at 1 s
    window = metrics.window(time.time() - opened)
    for arm, n in ((window.baseline, 37), (window.canary, 11)):
        assert arm.requests == n and arm.errors == 0
        assert arm.score_counts is not None and sum(arm.score_counts) == n
        assert all(count == int(count) for count in arm.score_counts)


def test_an_exec_plugin_token_that_expires_mid_rollout_is_refreshed(
    stack: CanaryStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The kubeconfig's exec credential plugin (like `aws eks get-token`) is run again on 401: the token
    expires right after the first shift, and the later shifts and the promotion still go through."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    token_file = tmp_path / "exec-token"
    with FakeKServe(token="eks-token", token_file=token_file, rotate_after_patches=1) as fake:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", fake.url, exec_token_file=token_file)
        with SplitLoad(stack, fake):
            code, data = run(config(tmp_path, stack, fake, kubeconfig=str(kubeconfig)), tmp_path)
    assert code == 0, json.dumps(data.get("timeline"), indent=1)
    assert data["result"] == "promoted"
    assert fake.rotations == 1 and fake.unauthorised >= 1  # the old token was refused once, then refreshed
    assert [p["spec"]["predictor"]["canaryTrafficPercent"] for p in fake.patches] == [20, 50, None]


def test_in_cluster_uses_the_service_account_token_and_verifies_the_cluster_ca(
    stack: CanaryStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "namespace").write_text("models", encoding="utf-8")
    with FakeKServe(token="pod-token", token_file=account / "token", tls_dir=tmp_path / "tls") as fake:
        assert fake.url.startswith("https://") and fake.ca_path is not None
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(fake.port))
        # a CA that did not sign the server's certificate: refused before any traffic moves
        (account / "ca.crt").write_bytes((tmp_path / "tls" / "server.crt").read_bytes())
        path = config(tmp_path, stack, fake, service_account_dir=str(account))
        code, data = run(path, tmp_path)
        assert code == 1 and data == {} and fake.patches == []
        # the cluster CA: verified TLS, the mounted token
        (account / "ca.crt").write_bytes(fake.ca_path.read_bytes())
        with SplitLoad(stack, fake):
            code, data = run(path, tmp_path)
    assert code == 0, json.dumps(data.get("timeline"), indent=1)
    assert data["result"] == "promoted" and fake.canary_percent() == 100.0


def standard_isvc(fake: FakeKServe) -> dict[str, Any]:
    """The InferenceService in Standard mode: the champion's predictor and the candidate in spec.canary."""
    obj = fake.get()
    del obj["status"]

    def predictor(version: str) -> dict[str, Any]:
        return {
            "containers": [
                {
                    "name": "kserve-container",
                    "image": f"ghcr.io/acme/fraud-detection:model-{version}",
                    "env": [{"name": "MODEL_VERSION", "value": version}],
                }
            ]
        }

    obj["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Standard"}
    obj["spec"] = {
        "predictor": predictor("1.0.0"),
        "canary": [{"trafficPercent": 0, "predictor": predictor("2.0.0")}],
    }
    return obj


class StandardSplit(SplitLoad):
    def loop(self) -> None:  # the split spec.canary declares
        rng = random.Random(1)  # noqa: S311 - traffic split simulation
        deadline = time.monotonic() + 90
        with httpx.Client(timeout=5.0) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                canaries = self.fake.get()["spec"].get("canary") or []
                percent = canaries[0]["trafficPercent"] if canaries else 100
                port = self.stack.canary_port if rng.random() * 100 < percent else self.stack.baseline_port
                client.post(f"http://127.0.0.1:{port}/predict", json={"amount": 3.0})
                self.stop.wait(1.0 / self.rate)


def test_standard_mode_moves_spec_canary_and_promotes_the_canary_predictor(
    stack: CanaryStack, kserve: FakeKServe, tmp_path: Path
) -> None:
    kserve.put(standard_isvc(kserve))
    with StandardSplit(stack, kserve):
        code, data = run(
            config(tmp_path, stack, kserve, mode="standard"), tmp_path, "--model-version", "2.0.0"
        )
    assert code == 0, json.dumps(data.get("timeline"), indent=1)
    assert data["result"] == "promoted"
    assert [p["spec"]["canary"][0]["trafficPercent"] for p in kserve.patches[:-1]] == [20, 50]
    final = kserve.get()["spec"]
    assert "canary" not in final
    assert final["predictor"]["containers"][0]["image"].endswith(":model-2.0.0")


def test_standard_mode_without_a_canary_entry_is_bad_input(
    stack: CanaryStack, kserve: FakeKServe, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    obj = standard_isvc(kserve)
    del obj["spec"]["canary"]
    kserve.put(obj)
    code, data = run(config(tmp_path, stack, kserve, mode="standard"), tmp_path)
    assert code == 1 and data == {} and kserve.patches == []
    assert "has no spec.canary entry" in capsys.readouterr().err
