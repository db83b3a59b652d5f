"""`mlgate canary` with target `kserve` against a local stand-in of the Kubernetes API (the documented
InferenceService request/response shapes, see tests/support/fake_kserve.py — not a cluster), with
metrics from a real Prometheus scraping two model servers that receive traffic in the split the
InferenceService status reports.
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
from tests.support.fake_kserve import FakeKServe

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
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("KUBERNETES_TOKEN", "sa-token")
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


def config(tmp_path: Path, stack: CanaryStack, fake: FakeKServe, **kserve: Any) -> Path:
    section = {
        "target": "kserve",
        "steps": [20, 50, 100],
        "bake_seconds": 3,
        "min_requests": 20,
        "max_inconclusive": 3,
        # a few dozen canary requests without errors cannot rule out a 2x error rate; 10 % errors they can
        "analysis": {"error_rate_min_delta": 0.1},
        "prometheus": {"url": stack.prometheus_url},
        "kserve": {"api_url": fake.url, "namespace": "models", "name": "fraud-detection", **kserve},
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
        ({"token_env": "NO_SUCH_TOKEN"}, (), "HTTP 401"),
        ({}, ("--model-version", "fraud-detection/9"), "not found in the predictor's storageUri"),
    ],
    ids=["isvc-missing", "unauthorised", "version-not-found"],
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
