"""`mlgate canary` against a real local target: two model servers behind nginx (Debian package), scraped
by a real Prometheus (Debian package), with live traffic from a load generator.

Healthy canary → promoted; canary with errors → rolled back and weights verified; SIGTERM mid-run →
rolled back; a re-run after an interruption starts from the baseline; bad input leaves traffic on the
baseline; Prometheus going away mid-run → inconclusive, then rollback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlgate.cli import main
from tests.support.canary_stack import CanaryStack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("nginx") and shutil.which("prometheus")),
        reason="needs nginx and prometheus (apt-get install -y --no-install-recommends nginx prometheus)",
    ),
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))


def _stack(tmp_path: Path, **kwargs: object) -> Iterator[CanaryStack]:
    stack = CanaryStack(tmp_path / "stack", **kwargs)  # type: ignore[arg-type]
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture
def healthy(tmp_path: Path) -> Iterator[CanaryStack]:
    yield from _stack(tmp_path)


@pytest.fixture
def bad(tmp_path: Path) -> Iterator[CanaryStack]:
    yield from _stack(tmp_path, canary_error_rate=0.4)


def write_config(tmp_path: Path, section: dict[str, object]) -> Path:
    path = tmp_path / "mlgate.yaml"
    path.write_text(yaml.safe_dump({"canary": section}), encoding="utf-8")
    return path


def run(config: Path, report: Path, *extra: str) -> tuple[int, dict[str, object]]:
    code = main(["canary", "--config", str(config), "--report-dir", str(report), *extra])
    result_file = report / "canary.json"
    return code, (json.loads(result_file.read_text()) if result_file.exists() else {})


def test_healthy_canary_is_promoted(healthy: CanaryStack, tmp_path: Path) -> None:
    healthy.start_load()
    code, result = run(write_config(tmp_path, healthy.config()), tmp_path / "report", "--model-version", "2")
    data = result["data"]
    assert code == 0, json.dumps(data["timeline"], indent=1)
    assert data["result"] == "promoted"
    assert healthy.nginx_weights() == 100.0
    analysed = [e for e in data["timeline"] if e["action"] == "analyse"]
    assert [e["canary_percent"] for e in analysed if e["verdict"] == "pass"] == [20, 50]
    report = (tmp_path / "report" / "canary.md").read_text()
    assert "promoted" in report and "error-rate" in report


def test_bad_canary_rolls_back_and_weights_are_verified(bad: CanaryStack, tmp_path: Path) -> None:
    bad.start_load()
    code, result = run(write_config(tmp_path, bad.config()), tmp_path / "report")
    data = result["data"]
    assert code == 1
    assert (data["result"], data["failure_reason"]) == ("rolled-back", "error-rate")
    assert data["rollback_verified"] is True
    assert bad.nginx_weights() == 0.0
    # nginx really sends everything to the baseline now: the canary's request counter stops moving
    failing = next(e for e in data["timeline"] if e["verdict"] == "fail")
    assert failing["canary_percent"] == 20


def test_sigterm_mid_run_rolls_back(healthy: CanaryStack, tmp_path: Path) -> None:
    healthy.start_load()
    config = write_config(tmp_path, healthy.config(bake_seconds=60))
    report = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlgate.cli", "canary", "--config", str(config), "--report-dir", str(report)],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "shift canary=20%" in line:
            break
    assert healthy.nginx_weights() == 20.0, "".join(lines)
    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=60)
    assert proc.returncode == 1, rest
    data = json.loads((report / "canary.json").read_text())["data"]
    assert (data["result"], data["failure_reason"]) == ("rolled-back", "cancelled")
    assert healthy.nginx_weights() == 0.0


def test_rerun_after_interruption_starts_from_the_baseline(healthy: CanaryStack, tmp_path: Path) -> None:
    from mlgate.canary.config import LocalSettings
    from mlgate.canary.targets.local import LocalNginxTarget

    section = healthy.config(steps=[20, 100], dry_run=False)
    target = LocalNginxTarget(LocalSettings.model_validate(section["local"]))
    target.ensure_running()
    target.set_weights(50)  # an earlier run was killed with half the traffic on the canary
    healthy.start_load()
    code, result = run(write_config(tmp_path, section), tmp_path / "report")
    first = result["data"]["timeline"][0]
    assert first["action"] == "reset" and "found 50%" in first["why"]
    assert code == 0, json.dumps(result["data"]["timeline"], indent=1)
    assert healthy.nginx_weights() == 100.0


def test_dry_run_changes_nothing(healthy: CanaryStack, tmp_path: Path) -> None:
    healthy.start_load()
    code, result = run(
        write_config(tmp_path, healthy.config(bake_seconds=2)), tmp_path / "report", "--dry-run"
    )
    assert code == 0
    assert result["data"]["result"] == "dry-run"
    # traffic never moved: nginx was started with everything on the baseline and is still there
    assert healthy.nginx_weights() == 0.0
    assert "would have been rolled-back (no-data)" in (tmp_path / "report" / "canary.md").read_text()


@pytest.mark.parametrize(
    ("override", "args", "message"),
    [
        ({"prometheus": {"requests_metric": "model_requests_total{"}}, (), "Prometheus rejected"),
        ({}, ("--model-version", "9"), "model version '9' not found"),
    ],
    ids=["promql-error", "version-not-found"],
)
def test_bad_input_leaves_traffic_on_the_baseline(  # noqa: PLR0917 - pytest passes fixtures positionally
    healthy: CanaryStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    override: dict[str, object],
    args: tuple[str, ...],
    message: str,
) -> None:
    section = healthy.config()
    for key, value in override.items():
        section[key] = {**section.get(key, {}), **value}  # type: ignore[dict-item]
    code, _ = run(write_config(tmp_path, section), tmp_path / "report", *args)
    assert code == 1
    assert message in capsys.readouterr().err
    pid_file = healthy.nginx_conf.parent / "nginx.pid"
    assert not pid_file.exists() or healthy.nginx_weights() == 0.0


def test_metrics_source_going_away_rolls_back_as_no_data(healthy: CanaryStack, tmp_path: Path) -> None:
    healthy.start_load()
    prometheus = healthy.procs[-1]

    def stop_prometheus_once_traffic_shifted() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if healthy.nginx_weights() > 0:
                    break
            except Exception:  # noqa: BLE001, S110 - nginx not started yet: try again
                pass
            time.sleep(0.1)
        prometheus.terminate()

    threading.Thread(target=stop_prometheus_once_traffic_shifted, daemon=True).start()
    code, result = run(write_config(tmp_path, healthy.config(bake_seconds=2)), tmp_path / "report")
    data = result["data"]
    assert code == 1
    assert (data["result"], data["failure_reason"]) == ("rolled-back", "no-data")
    assert "metrics source unavailable" in json.dumps(data["timeline"])
    assert healthy.nginx_weights() == 0.0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see nginx's workers")
def test_a_shift_returns_only_after_every_pre_reload_worker_has_exited(tmp_path: Path) -> None:
    """`nginx -s reload` returns before nginx switched over: a worker with the old weights can still
    accept connections. A shift (and so a rollback's read-back) waits until no old worker is left."""
    from mlgate.canary.config import LocalSettings
    from mlgate.canary.targets.local import LocalNginxTarget
    from tests.support.canary_stack import free_port

    pid_dir = tmp_path / "nginx"
    target = LocalNginxTarget(
        LocalSettings(
            nginx_conf=str(pid_dir / "nginx.conf"),
            listen=f"127.0.0.1:{free_port()}",
            baseline_upstream="127.0.0.1:9",
            canary_upstream="127.0.0.1:9",
        )
    )

    def workers() -> set[int]:
        master = (pid_dir / "nginx.pid").read_text().strip()
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if fields[0] != "Z" and fields[1] == master:
                found.add(int(stat.parent.name))
        return found

    target.ensure_running()
    try:
        time.sleep(0.5)
        for percent in (20.0, 0.0, 20.0, 0.0):
            before = workers()
            target.set_weights(percent)
            after = workers()
            assert after and not (after & before), (before, after)
            assert [target.read_weights() for _ in range(10)] == [percent] * 10
    finally:
        target.stop()


class BrokenPrometheus:
    """A Prometheus HTTP API on 127.0.0.1 that answers instant queries like an empty Prometheus (so the
    pre-flight check passes) and range queries — the looks — with `answer`: HTTP 500, or a success whose
    samples are not numbers. The failure at the metrics call must leave the traffic on the baseline."""

    def __init__(self, answer: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query).get("query", [""])[0]
                look = query.endswith("ms]")  # a look's raw-sample query (the check uses increase())
                status, body = 200, {"status": "success", "data": {"resultType": "vector", "result": []}}
                if look and answer == "http-500":
                    status, body = 500, {"status": "error", "error": "query processing failed"}
                elif look:
                    series = {"metric": {"le": "+Inf"}, "values": [[1.0, "not a number"]]}
                    body = {"status": "success", "data": {"resultType": "matrix", "result": [series]}}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize(
    ("answer", "reason", "message"),
    [
        ("http-500", "no-data", "metrics source unavailable"),
        ("garbage-samples", "judge-error", "the metrics source raised ValueError"),
    ],
)
def test_a_failing_metrics_call_leaves_traffic_on_the_baseline(
    healthy: CanaryStack, tmp_path: Path, answer: str, reason: str, message: str
) -> None:
    broken = BrokenPrometheus(answer)
    try:
        healthy.start_load()
        section = healthy.config(bake_seconds=1, prometheus={"url": broken.url})
        code, result = run(write_config(tmp_path, section), tmp_path / "report")
    finally:
        broken.close()
    data = result["data"]
    assert code == 1
    assert (data["result"], data["failure_reason"], data["rollback_verified"]) == (
        "rolled-back",
        reason,
        True,
    )
    assert message in json.dumps(data["timeline"])
    assert healthy.nginx_weights() == 0.0
