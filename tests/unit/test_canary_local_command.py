"""`mlgate canary-local`: the local canary stack that moved from the generated project into mlgate.

The pure parts (the request schema read from OpenAPI, the typed golden rows) on small inputs; bad input
refused before anything starts (one line naming the file or field); then whole runs on this repository's
small model servers (tests/support/canary_stack.py, which serve an OpenAPI document for /predict) with real
nginx and Prometheus: a bad canary is rolled back, a healthy one promoted, and nothing is left running.
The generated project's own service runs it in tests/template/test_canary_local_command.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from pathlib import Path

import httpx
import pytest
import yaml

from mlgate.canary.local_stack import golden_rows, request_columns
from mlgate.cli import main
from mlgate.errors import GateInputError
from tests.support.canary_stack import OPENAPI, REPO, free_port

HAVE_TOOLS = bool(shutil.which("nginx") and shutil.which("prometheus"))
needs_tools = pytest.mark.skipif(
    not HAVE_TOOLS,
    reason="needs nginx and prometheus (apt-get install -y --no-install-recommends nginx prometheus)",
)


@pytest.fixture(autouse=True)
def _local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("CANARY_BAD", raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.chdir(tmp_path)


def test_request_columns_follow_the_openapi_schema() -> None:
    assert request_columns(OPENAPI) == {"transaction_id": "string", "amount": "number"}
    assert request_columns({"paths": {}}) == {}


def test_golden_rows_keep_and_type_the_request_fields(tmp_path: Path) -> None:
    path = tmp_path / "golden.csv"
    path.write_text("transaction_id,amount,hour,is_fraud\nt1,12.5,3,1\nt2,,4,0\n", encoding="utf-8")
    rows = golden_rows(path, {"transaction_id": "string", "amount": "number", "hour": "integer"})
    assert rows == [
        {"transaction_id": "t1", "amount": 12.5, "hour": 3},
        {"transaction_id": "t2", "amount": None, "hour": 4},
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("label\n1\n", "has none of the columns"),
        ("amount\nabc\n", "does not fit the service's request schema"),
    ],
)
def test_golden_rows_refuse_unusable_files(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "golden.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GateInputError, match=problem) as info:
        golden_rows(path, {"amount": "number"})
    assert info.value.file == str(path)


def _project(tmp_path: Path, canary: dict[str, object]) -> Path:
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "golden.csv").write_text(
        "transaction_id,amount,is_fraud\n" + "".join(f"t{i},{10 + i},0\n" for i in range(50)),
        encoding="utf-8",
    )
    config = tmp_path / "mlgate.yaml"
    config.write_text(yaml.safe_dump({"canary": canary}), encoding="utf-8")
    return config


def _section(**overrides: object) -> dict[str, object]:
    section: dict[str, object] = {
        "steps": [20, 50, 100],
        "min_requests": 20,
        "prometheus": {"url": f"http://127.0.0.1:{free_port()}"},
        "local": {
            "nginx_conf": ".mlgate/nginx/nginx.conf",
            "listen": f"127.0.0.1:{free_port()}",
            "baseline_upstream": f"127.0.0.1:{free_port()}",
            "canary_upstream": f"127.0.0.1:{free_port()}",
        },
    }
    section.update(overrides)
    return section


def _run(*args: str) -> int:
    return main(
        ["canary-local", "--serve-module", "tests.support.canary_stack", "--bake-seconds", "4", *args]
    )


def test_a_bad_canary_section_is_one_line_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, _section(steps=[50, 20]))
    assert _run() == 1
    err = capsys.readouterr().err
    assert "mlgate.yaml: canary.steps: " in err and "strictly increasing" in err
    assert "Traceback" not in err


def test_missing_nginx_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    section = _section()
    section["local"] = {**section["local"], "nginx_bin": "/nonexistent/nginx"}  # type: ignore[dict-item]
    _project(tmp_path, section)
    assert _run() == 1
    assert "/nonexistent/nginx" in capsys.readouterr().err


@needs_tools
def test_missing_model_and_golden_data_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project(tmp_path, _section())
    assert _run("--model-uri", "trained") == 1
    assert "trained: no trained model there — run `make pipeline` first" in capsys.readouterr().err
    assert _run("--golden", "data/none.csv") == 1
    assert "data/none.csv: does not exist" in capsys.readouterr().err


@needs_tools
def test_a_taken_address_refuses_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    section = _section()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        section["local"] = {**section["local"], "listen": f"127.0.0.1:{port}"}  # type: ignore[dict-item]
        _project(tmp_path, section)
        assert _run() == 1
    assert f"127.0.0.1:{port} already in use" in capsys.readouterr().err
    assert not (tmp_path / ".mlgate" / "canary-local" / "prometheus.yml").exists()


def _listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


@needs_tools
@pytest.mark.slow
@pytest.mark.parametrize(("bad", "result"), [(True, "rolled-back"), (False, "promoted")])
def test_a_whole_rollout_runs_and_stops_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: bool, result: str
) -> None:
    section = _section()
    _project(tmp_path, section)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / ".mlgate"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the stand-in services are `python -m tests.support...`
    code = _run("--bad" if bad else "--no-bad", "--rps", "80")
    report = json.loads((tmp_path / ".mlgate" / "canary.json").read_text(encoding="utf-8"))
    assert report["data"]["result"] == result, json.dumps(report["data"]["timeline"], indent=1)
    assert code == (1 if bad else 0)
    if bad:
        assert report["failure_reason"] == "error-rate"
    # the demo copy of mlgate.yaml carries the demo's settings and nothing else changed
    demo = yaml.safe_load((tmp_path / ".mlgate" / "canary-local" / "mlgate.yaml").read_text(encoding="utf-8"))
    assert demo["canary"]["bake_seconds"] == 4
    assert demo["canary"]["analysis"]["error_rate_min_delta"] == 0.1
    assert demo["canary"]["local"] == section["local"]
    # the services saw only the request fields: their Prometheus was scraping both arms
    prometheus_yml = (tmp_path / ".mlgate" / "canary-local" / "prometheus.yml").read_text(encoding="utf-8")
    assert "job_name: baseline" in prometheus_yml and "job_name: canary" in prometheus_yml
    local = section["local"]
    assert isinstance(local, dict)
    addresses = [local["listen"], local["baseline_upstream"], local["canary_upstream"]]
    assert not [a for a in addresses if _listening(str(a))]


def _pids_in(directory: Path) -> list[int]:
    """Processes other than this one whose working directory is `directory` (the stack's parts)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            with contextlib.suppress(OSError):
                if (proc / "cwd").readlink() == directory.resolve():
                    found.append(int(proc.name))
    return found


@needs_tools
@pytest.mark.slow
def test_start_runs_the_stack_detached_and_stop_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """cd.yml's local target: `--start` returns with the stack serving (each arm its own model and version,
    the given golden file replayed, the config CANARY_CONFIG names), nginx comes up in front as `mlgate
    canary` starts it, and `--stop` ends all of it."""
    from mlgate.canary.config import CanarySection
    from mlgate.canary.targets.local import LocalNginxTarget
    from mlgate.config import load_section

    section = _section()
    _project(tmp_path, section)
    (tmp_path / "models").rmdir()  # no models/: the given URIs are served instead
    staging = tmp_path / "staging" / "mlgate.yaml"
    staging.parent.mkdir()
    (tmp_path / "mlgate.yaml").rename(staging)
    (tmp_path / "previous").mkdir()
    (tmp_path / "candidate").mkdir()
    (tmp_path / "data" / "golden.csv").rename(tmp_path / "candidate" / "golden.csv")
    env = {
        "CANARY_CONFIG": "staging/mlgate.yaml",
        "BASELINE_MODEL_URI": "previous",
        "BASELINE_MODEL_VERSION": "7",
        "CANARY_MODEL_URI": "candidate",
        "CANARY_MODEL_VERSION": "8",
        "CANARY_GOLDEN_DATA": "candidate/golden.csv",
        "CANARY_READY_SECONDS": "60",
        "MLGATE_SERVE_MODULE": "tests.support.canary_stack",
        "PYTHONPATH": str(REPO),  # the stand-in services are `python -m tests.support...`
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    local = section["local"]
    assert isinstance(local, dict)
    prometheus = str(section["prometheus"]["url"]).split("://")[1]  # type: ignore[index]
    addresses = [str(local["baseline_upstream"]), str(local["canary_upstream"]), prometheus]
    try:
        assert main(["canary-local", "--start", "--rps", "40"]) == 0, capsys.readouterr().err
        pid = int((tmp_path / ".mlgate" / "canary-local" / "stack.pid").read_text(encoding="utf-8"))
        assert pid in _pids_in(tmp_path)
        assert all(_listening(a) for a in addresses)
        # a second start (or demo) refuses while it runs
        assert main(["canary-local", "--start"]) == 1
        assert f"the stack `--start` began is still running (pid {pid})" in capsys.readouterr().err
        # nginx as `mlgate canary` starts it, in front of both arms: the replayed traffic reaches each
        plan = load_section(staging, "canary", CanarySection)
        LocalNginxTarget(plan.local).ensure_running()
        LocalNginxTarget(plan.local).set_weights(50)
        assert _listening(str(local["listen"]))
        seen: dict[str, str] = {}
        for _ in range(100):
            for arm in ("baseline_upstream", "canary_upstream"):
                seen[arm] = httpx.get(f"http://{local[arm]}/metrics", timeout=5).text
            if all('endpoint="/predict"' in text for text in seen.values()):
                break
            time.sleep(0.2)
        assert 'model_version="7"' in seen["baseline_upstream"], seen["baseline_upstream"][-2000:]
        assert 'model_version="8"' in seen["canary_upstream"], seen["canary_upstream"][-2000:]
        nginx_pid = int((tmp_path / ".mlgate" / "nginx" / "nginx.pid").read_text(encoding="utf-8"))
    finally:
        assert main(["canary-local", "--stop"]) == 0
    assert "stack stopped" in capsys.readouterr().err
    assert not [a for a in [*addresses, str(local["listen"])] if _listening(a)]
    assert not _pids_in(tmp_path)
    assert not Path(f"/proc/{nginx_pid}").exists()
    assert not (tmp_path / ".mlgate" / "canary-local" / "stack.pid").exists()
    # stopping again is harmless
    assert main(["canary-local", "--stop"]) == 0
    assert "no stack running" in capsys.readouterr().err
