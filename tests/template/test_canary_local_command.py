"""`make canary-local` in the generated project, as a user runs it after `make pipeline` (the Makefile calls
`mlgate canary-local --serve-module <package>.serve`: the stack lives in `mlgate.canary.local_stack`).

One default project rendered with the real cookiecutter, synced with mlgate from a wheel of this checkout,
its model trained by `make pipeline`. Its mlgate.yaml is pointed at free loopback ports (and another nginx
config path) so nothing here binds the template's fixed 8001/8002/8080/9090; then the one command runs the
whole local canary for real — the project's service twice, nginx, Prometheus, the golden-traffic replay and
`mlgate canary`:

- `CANARY_BAD=1`: rolled back at the first step (5 %) for the error rate, exit status non-zero, traffic
  back on the baseline (read back by mlgate, and the last nginx config has only the baseline upstream);
- healthy: promoted through 5 → 25 → 50 → 100 %, every judged step (5, 25, 50) passed, exit status 0;
- Ctrl-C (SIGINT to the process group, as a terminal sends it) or SIGTERM in the middle of a bake: mlgate
  rolls back (`cancelled`) before everything stops.

After each run no process it started is left and every address is free again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.project import project_env, run_in
from tests.template.conftest import STACK_NGINX_CONF as NGINX_CONF
from tests.template.conftest import needs_template

MISSING_TOOLS = [tool for tool in ("nginx", "prometheus") if shutil.which(tool) is None]

pytestmark = [
    needs_template,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(MISSING_TOOLS),
        reason=f"{' and '.join(MISSING_TOOLS)} not on PATH (apt-get install nginx prometheus)",
    ),
]

RUN_TIMEOUT = 600  # a healthy rollout bakes 3 x 20 s plus start-up; generous for a loaded machine


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port` (TIME_WAIT leftovers of clients do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def processes_of(project: Path) -> dict[int, str]:
    """Processes (other than this one) running in `project` or naming it on their command line (nginx)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = str((entry / "cwd").readlink())
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue  # exited meanwhile, or not ours to read
        if state == "Z":
            continue
        if cwd == str(project) or cwd.startswith(f"{project}/") or str(project) in cmdline:
            found[int(entry.name)] = f"{cmdline or '?'} (cwd {cwd})"
    return found


@pytest.fixture(scope="module")
def project(trained_project: Path) -> Path:
    """The default project, synced, with a trained model and data/golden.csv (conftest: shared with
    test_monitor_local.py, which runs the same stack)."""
    return trained_project


@pytest.fixture(scope="module")
def ports(stack_ports: dict[str, int]) -> dict[str, int]:
    return stack_ports


@pytest.fixture
def clean(project: Path, ports: dict[str, int]) -> Iterator[None]:
    """No report of an earlier run is mistaken for this one's; nothing is left running afterwards."""
    for name in ("canary.json", "canary.md", "canary-timeline.json"):
        (project / ".mlgate" / name).unlink(missing_ok=True)
    (project / NGINX_CONF).unlink(missing_ok=True)
    assert not [p for p in ports.values() if listening(p)], "a chosen port was taken before the run"
    yield
    assert_nothing_left(project, ports)


def assert_nothing_left(project: Path, ports: dict[str, int]) -> None:
    """Every process the run started has exited and no chosen address is still bound (bounded wait)."""
    deadline = time.monotonic() + 30
    while True:
        left = processes_of(project)
        bound = {name: port for name, port in ports.items() if listening(port)}
        if not left and not bound:
            return
        if time.monotonic() > deadline:
            for pid in left:  # do not leak them into the next test
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            pytest.fail(f"left behind: processes {left}, addresses still bound {bound}")
        time.sleep(0.5)


def canary_local(
    project: Path, wheel_dir: Path, *make_args: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = run_in(
        project, "make", "canary-local", *make_args, wheel_dir=wheel_dir, check=False, timeout=RUN_TIMEOUT
    )
    return proc, time.monotonic() - started


def report(project: Path) -> dict[str, Any]:
    path = project / ".mlgate" / "canary.json"
    assert path.is_file(), "mlgate canary wrote no canary.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def upstream_lines(project: Path) -> list[str]:
    """The `server host:port weight=N;` lines of the nginx config mlgate wrote last."""
    conf = (project / NGINX_CONF).read_text(encoding="utf-8")
    return [line.strip() for line in conf.splitlines() if line.strip().startswith("server 127.0.0.1:")]


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"


def test_bad_canary_is_rolled_back_at_the_first_step(
    project: Path, wheel_dir: Path, ports: dict[str, int], clean: None
) -> None:
    proc, seconds = canary_local(project, wheel_dir, "CANARY_BAD=1")
    print(f"make canary-local CANARY_BAD=1: {seconds:.1f} s")
    assert proc.returncode != 0, output(proc)
    # the script ran everything on the addresses mlgate.yaml names
    assert f"nginx 127.0.0.1:{ports['listen']}" in proc.stderr, output(proc)
    assert f"Prometheus 127.0.0.1:{ports['prometheus']}" in proc.stderr, output(proc)
    assert "(BAD: 30 % errors)" in proc.stderr, output(proc)

    result = report(project)
    assert not result["passed"], output(proc)
    assert result["failure_reason"] == "error-rate", output(proc)
    data = result["data"]
    assert data["result"] == "rolled-back"
    assert data["rollback_verified"] is True
    assert data["final_canary_percent"] == 0
    timeline = data["timeline"]
    assert [e["canary_percent"] for e in timeline if e["action"] == "shift"] == [5], timeline
    failed = [e for e in timeline if e["verdict"] == "fail"]
    assert len(failed) == 1, timeline
    assert failed[0]["action"] == "analyse" and failed[0]["canary_percent"] == 5, timeline
    assert failed[0]["reason"] == "error-rate", timeline
    assert timeline[-1]["action"] == "rollback" and timeline[-1]["canary_percent"] == 0, timeline
    assert "rolled back (error-rate)" in (project / ".mlgate" / "canary.md").read_text(encoding="utf-8")

    # traffic ended on the baseline: the last config nginx ran has the baseline upstream only
    assert upstream_lines(project) == [f"server 127.0.0.1:{ports['baseline']} weight=1000;"]


def test_healthy_canary_is_promoted_step_by_step(
    project: Path, wheel_dir: Path, ports: dict[str, int], clean: None
) -> None:
    proc, seconds = canary_local(project, wheel_dir)
    print(f"make canary-local: {seconds:.1f} s")
    assert proc.returncode == 0, output(proc)
    assert "(BAD" not in proc.stderr

    result = report(project)
    assert result["passed"], output(proc)
    assert result["failure_reason"] == ""
    data = result["data"]
    assert data["result"] == "promoted"
    assert data["final_canary_percent"] == 100
    timeline = data["timeline"]
    # the judged steps, then the promotion to 100 % (read back from nginx)
    assert [e["canary_percent"] for e in timeline if e["action"] == "shift"] == [5, 25, 50], timeline
    assert not [e for e in timeline if e["verdict"] == "fail"], timeline
    for step in (5, 25, 50):  # every step below 100 % is judged, and its last look passed
        looks = [e for e in timeline if e["action"] == "analyse" and e["canary_percent"] == step]
        assert looks and looks[-1]["verdict"] == "pass", (step, timeline)
    assert timeline[-1]["action"] == "promote" and timeline[-1]["canary_percent"] == 100, timeline
    assert timeline[-1]["verdict"] == "promoted", timeline

    assert upstream_lines(project) == [f"server 127.0.0.1:{ports['canary']} weight=1000;"]


@pytest.mark.parametrize(
    "signum",
    [
        pytest.param(signal.SIGINT, id="ctrl-c"),  # a terminal signals its whole foreground process group
        pytest.param(signal.SIGTERM, id="sigterm"),  # kill, a stopped container or a cancelled CI job
    ],
)
def test_interrupt_rolls_back_then_stops_everything(
    project: Path, wheel_dir: Path, ports: dict[str, int], clean: None, signum: signal.Signals
) -> None:
    """Signalled in the first bake (make, uv, the script and mlgate all get it): mlgate rolls traffic back
    and records `cancelled`, then the script stops everything — nginx too, which runs as a daemon outside
    the process group."""
    proc = subprocess.Popen(
        ["make", "canary-local"],
        cwd=project,
        env=project_env(wheel_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    watchdog = threading.Timer(RUN_TIMEOUT, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "shift canary=5%" in line:
                time.sleep(2)  # inside the first bake
                os.killpg(proc.pid, signum)
                break
        lines += proc.stdout.readlines()
        proc.wait(timeout=120)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = "".join(lines)
    assert "shift canary=5%" in text, text[-6000:]
    assert proc.returncode != 0, text[-6000:]
    assert (project / ".mlgate" / "canary.json").is_file(), text[-6000:]

    result = report(project)
    assert result["failure_reason"] == "cancelled", text[-6000:]
    assert result["data"]["result"] == "rolled-back"
    assert result["data"]["rollback_verified"] is True
    assert result["data"]["final_canary_percent"] == 0
    assert upstream_lines(project) == [f"server 127.0.0.1:{ports['baseline']} weight=1000;"]
