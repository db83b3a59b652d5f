"""Run a complete canary rollout on this machine and watch mlgate decide.

    make canary-local                  # a healthy canary: promoted step by step to 100 %
    make canary-local CANARY_BAD=1     # the canary answers 30 % of requests with 500: rolled back

    python scripts/canary_local.py start   # only the stack (services, Prometheus, traffic) in the
    python scripts/canary_local.py stop    # background, for a `mlgate canary` run in between (cd.yml's
                                           # local target: the champion against the previous model)

What runs (addresses from the `canary` section of mlgate.yaml):
- the baseline and the canary: two copies of this project's service (`python -m <package>.serve`) on
  `canary.local.baseline_upstream` / `canary_upstream`, both serving `MODEL_URI` (default `models/`;
  `BASELINE_MODEL_URI` / `CANARY_MODEL_URI` serve other models on one arm, and `BASELINE_MODEL_VERSION` /
  `CANARY_MODEL_VERSION` name the versions they report — defaults `baseline` and `candidate`);
- Prometheus on `canary.prometheus.url`, scraping both every second (jobs `baseline` and `canary`);
- nginx on `canary.local.listen` — started and re-weighted by `mlgate canary` itself;
- a load generator replaying `data/golden.csv` through nginx (`CANARY_RPS`, default 60 requests/s,
  from `CANARY_CONCURRENCY` clients, default 4);
- `mlgate canary`, whose timeline is printed and written to `.mlgate/canary.md`.

The demo's traffic is small (a few requests per second on the canary at 5 %) and its service has no
errors, so it runs `mlgate canary` on a copy of mlgate.yaml (`.mlgate/canary-local/mlgate.yaml`) with
demo settings, printed at the start: `bake_seconds: 20` (`CANARY_BAKE_SECONDS`), `max_inconclusive: 4`,
and the regressions a step must rule out before it passes made coarse enough for a few hundred requests
to show — `analysis.error_rate_min_delta: 0.1` (`CANARY_MIN_DELTA`: the canary stays below 10 % errors,
instead of ruling out a 2x error rate of zero) and `analysis.latency_max_ratio: 2` (`CANARY_LATENCY_RATIO`).
Everything else is your mlgate.yaml as it is; real rollouts use it unchanged.

Each service may take `CANARY_READY_SECONDS` (default 300) to load its model and answer /readyz.

Needs nginx and prometheus on PATH (Debian/Ubuntu: `apt-get install nginx prometheus`; macOS:
`brew install nginx prometheus`) and a trained model (`make pipeline`). Everything binds 127.0.0.1 and
is stopped at the end, also on Ctrl-C or SIGTERM (mlgate rolls back to the baseline first). Every run
starts clean: an nginx left over by an interrupted run is stopped, Prometheus' data is wiped, and the run
refuses to start while another process holds one of the addresses.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

PACKAGE = "{{ cookiecutter.__package_name }}"
ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mlgate" / "canary-local"
FEATURES = ("transaction_id", "amount", "merchant_category", "country", "hour", "card_age_days", "device")


def say(message: str) -> None:
    sys.stderr.write(f"canary-local: {message}\n")
    sys.stderr.flush()


def settings() -> dict[str, Any]:
    """Addresses from the `canary` section of mlgate.yaml (or of `CANARY_CONFIG`, relative to the project)."""
    config = ROOT / os.environ.get("CANARY_CONFIG", "mlgate.yaml")
    raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    canary = raw.get("canary") or {}
    local = canary.get("local") or {}
    prometheus = canary.get("prometheus") or {}
    return {
        "baseline": local.get("baseline_upstream", "127.0.0.1:8001"),
        "canary": local.get("canary_upstream", "127.0.0.1:8002"),
        "listen": local.get("listen", "127.0.0.1:8080"),
        "nginx_conf": ROOT / local.get("nginx_conf", ".mlgate/canary/nginx.conf"),
        "nginx_bin": local.get("nginx_bin", "nginx"),
        "prometheus": prometheus.get("url", "http://127.0.0.1:9090").removeprefix("http://").rstrip("/"),
    }


def address_in_use(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, int(port))) == 0


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


#: how long a service may take to load its model and answer /readyz (a loaded CI runner can be slow)
READY_SECONDS = float(os.environ.get("CANARY_READY_SECONDS", "300"))


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = READY_SECONDS) -> None:
    """Wait until `url` answers 200; fail at once (with its log) when `proc` exits meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"canary-local: {url}: the process exited ({proc.returncode}):\n{log_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"canary-local: {url} was not ready within {seconds:g} s:\n{log_tail(log)}")


def stop_nginx(s: dict[str, Any]) -> None:
    """Stop the nginx `mlgate canary` started (also one left over by an interrupted run) and wait for it."""
    pid_file = s["nginx_conf"].parent / "nginx.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return
    quit_nginx = [s["nginx_bin"], "-c", str(s["nginx_conf"]), "-s", "quit"]
    subprocess.run(quit_nginx, check=False, capture_output=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def demo_config() -> Path:
    """A copy of mlgate.yaml with the demo's settings (see the module docstring)."""
    raw = yaml.safe_load((ROOT / "mlgate.yaml").read_text(encoding="utf-8")) or {}
    canary = dict(raw.get("canary") or {})
    canary["bake_seconds"] = float(os.environ.get("CANARY_BAKE_SECONDS", "20"))
    canary["max_inconclusive"] = 4
    analysis = dict(canary.get("analysis") or {})
    analysis["error_rate_min_delta"] = float(os.environ.get("CANARY_MIN_DELTA", "0.1"))
    analysis["latency_max_ratio"] = float(os.environ.get("CANARY_LATENCY_RATIO", "2"))
    canary["analysis"] = analysis
    raw["canary"] = canary
    path = WORK / "mlgate.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    say(
        f"demo settings in {path.relative_to(ROOT)}: bake {canary['bake_seconds']:g} s, max_inconclusive 4, "
        f"error_rate_min_delta {analysis['error_rate_min_delta']:g}, "
        f"latency_max_ratio {analysis['latency_max_ratio']:g}"
    )
    return path


def run_mlgate(config: Path) -> int:
    """`mlgate canary`; on Ctrl-C or SIGTERM mlgate gets the signal too and rolls back before we stop."""
    mlgate = shutil.which("mlgate") or "mlgate"
    version = os.environ.get("CANARY_MODEL_VERSION") or "candidate"
    proc = subprocess.Popen(
        [mlgate, "canary", "--config", str(config), "--environment", "local", "--model-version", version],
        cwd=ROOT,
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # one interrupt is enough: uv and the terminal may deliver the signal again, and a second one here
        # would cut the wait for mlgate's rollback short and stop nginx under it
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        say("interrupted: mlgate rolls traffic back to the baseline, then everything stops")
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGTERM)  # a cancelled rollout: mlgate rolls back and verifies
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        return code or 130


def golden_rows() -> list[dict[str, Any]]:
    """The replayed traffic: data/golden.csv, or the file `CANARY_GOLDEN_DATA` names (cd.yml: the gated
    one)."""
    path = ROOT / os.environ.get("CANARY_GOLDEN_DATA", "data/golden.csv")
    if not path.is_file():
        raise SystemExit(f"canary-local: {path} is missing — run `make pipeline` first")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["amount"] = float(row["amount"])
        row["hour"] = int(row["hour"])
        row["card_age_days"] = int(row["card_age_days"])
    return [{k: row[k] for k in FEATURES if k in row} for row in rows]


def replay(url: str, rows: list[dict[str, Any]], rate: float, stop: threading.Event, seed: int = 0) -> None:
    """POST the golden rows in a shuffled order at about `rate` per second until `stop` (at most 1 h)."""
    rows = list(rows)
    rng = random.Random(seed)  # noqa: S311 - traffic order, not security
    deadline = time.monotonic() + 3600
    with httpx.Client(timeout=5.0) as client:
        while not stop.is_set() and time.monotonic() < deadline:
            rng.shuffle(rows)  # nginx's weighted round robin must not see the same rows on one arm
            for row in rows:
                if stop.is_set():
                    return
                with contextlib.suppress(httpx.HTTPError):  # nginx reloading, or not started yet
                    client.post(url, json=row)
                stop.wait(1.0 / rate)


def run_stack(s: dict[str, Any], *, bad: bool, until: Any) -> int:
    """Start the services, Prometheus and the traffic; return `until()` and stop everything after it."""
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    stop = threading.Event()
    shutil.rmtree(WORK / "tsdb", ignore_errors=True)  # Prometheus starts empty: no series of a past run
    WORK.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, raise_interrupt)  # a killed run cleans up like Ctrl-C
    arms = {
        "baseline": {
            "MODEL_URI": os.environ.get("BASELINE_MODEL_URI", os.environ.get("MODEL_URI", "models")),
            "MODEL_VERSION": os.environ.get("BASELINE_MODEL_VERSION") or "baseline",
            "FAULT_ERROR_RATE": "0",
        },
        "canary": {
            "MODEL_URI": os.environ.get("CANARY_MODEL_URI", os.environ.get("MODEL_URI", "models")),
            "MODEL_VERSION": os.environ.get("CANARY_MODEL_VERSION") or "candidate",
            "FAULT_ERROR_RATE": "0.3" if bad else "0",
        },
    }
    try:
        for name, address in (("baseline", s["baseline"]), ("canary", s["canary"])):
            host, port = address.rsplit(":", 1)
            env = {**os.environ, "HOST": host, "PORT": port, **arms[name]}
            logs.append(WORK / f"{name}.log")
            with logs[-1].open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", f"{PACKAGE}.serve"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        cwd=ROOT,
                    )
                )
        scrape = "".join(
            f"  - job_name: {job}\n    static_configs:\n      - targets: ['{s[job]}']\n"
            for job in ("baseline", "canary")
        )
        config = WORK / "prometheus.yml"
        config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n{scrape}", encoding="utf-8")
        logs.append(WORK / "prometheus.log")
        with logs[-1].open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        "prometheus",
                        f"--config.file={config}",
                        f"--storage.tsdb.path={WORK / 'tsdb'}",
                        f"--web.listen-address={s['prometheus']}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
        for proc, log_path, url in zip(
            procs,
            logs,
            (
                f"http://{s['baseline']}/readyz",
                f"http://{s['canary']}/readyz",
                f"http://{s['prometheus']}/-/ready",
            ),
            strict=True,
        ):
            wait_ready(url, proc, log_path)
        rate = float(os.environ.get("CANARY_RPS", "60"))
        workers = int(os.environ.get("CANARY_CONCURRENCY", "4"))
        rows = golden_rows()
        for seed in range(workers):
            url = f"http://{s['listen']}/predict"
            threading.Thread(target=replay, args=(url, rows, rate / workers, stop, seed), daemon=True).start()
        say(
            f"baseline {s['baseline']} ({arms['baseline']['MODEL_URI']}, version "
            f"{arms['baseline']['MODEL_VERSION']}), canary {s['canary']} ({arms['canary']['MODEL_URI']}, "
            f"version {arms['canary']['MODEL_VERSION']}){' (BAD: 30 % errors)' if bad else ''}, "
            f"nginx {s['listen']}, Prometheus {s['prometheus']}"
        )
        return int(until())
    except KeyboardInterrupt:
        return 130
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)  # cleanup (bounded) is not interrupted halfway
        stop.set()
        stop_nginx(s)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def preflight(s: dict[str, Any]) -> int:
    """0 when the tools, a model and free addresses are there; else says what is missing and returns 2."""
    missing = [tool for tool in (s["nginx_bin"], "prometheus") if shutil.which(tool) is None]
    if missing:
        say(f"install {' and '.join(missing)} first (apt-get install nginx prometheus)")
        return 2
    given = os.environ.get("CANARY_MODEL_URI") and os.environ.get("BASELINE_MODEL_URI")
    if not (ROOT / "models" / "model.joblib").is_file() and not given:
        say("no trained model in models/ — run `make pipeline` first")
        return 2
    stop_nginx(s)  # left over by an interrupted run: start from a known state
    busy = [a for a in (s["baseline"], s["canary"], s["listen"], s["prometheus"]) if address_in_use(a)]
    if busy:
        say(
            f"{', '.join(busy)} already in use (an earlier canary-local still running?): stop it or "
            "change the addresses in mlgate.yaml (canary.local, canary.prometheus.url)"
        )
        return 2
    return 0


PID_FILE = WORK / "stack.pid"
READY_FILE = WORK / "stack.ready"


def start_background() -> int:
    """`start`: run the stack in a detached process until `stop`; return once it serves (or failed)."""
    s = settings()
    code = preflight(s)
    if code:
        return code
    WORK.mkdir(parents=True, exist_ok=True)
    READY_FILE.unlink(missing_ok=True)
    log = WORK / "stack.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve-stack"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # outlives the shell step that started it, until `stop`
        )
    PID_FILE.write_text(str(proc.pid), encoding="utf-8")
    limit = 3 * READY_SECONDS + 60  # both services and Prometheus, one after the other
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if READY_FILE.exists():
            say(f"stack running (pid {proc.pid}, log {log.relative_to(ROOT)}); `stop` ends it")
            return 0
        if proc.poll() is not None:
            say(f"the stack exited ({proc.returncode}):\n{log_tail(log)}")
            return 1
        time.sleep(0.3)
    say(f"the stack was not ready within {limit:g} s:\n{log_tail(log)}")
    stop_background()
    return 1


def serve_stack() -> int:
    """The detached process `start` runs: the stack until SIGTERM."""
    s = settings()
    forever = threading.Event()

    def until() -> int:
        READY_FILE.write_text("ready", encoding="utf-8")
        forever.wait(3600)  # bounded: an hour at most
        return 0

    try:
        return run_stack(s, bad=False, until=until)
    finally:
        READY_FILE.unlink(missing_ok=True)


def stop_background() -> int:
    """`stop`: end the stack `start` began (SIGTERM, then wait); nginx too."""
    try:
        pid = int(PID_FILE.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        say("no stack running")
        stop_nginx(settings())
        return 0
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    stop_nginx(settings())
    say("stack stopped")
    return 0


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "demo"
    if command == "start":
        return start_background()
    if command == "stop":
        return stop_background()
    if command == "serve-stack":
        return serve_stack()
    if command != "demo":
        say(f"unknown command {command!r}: use start, stop or no argument (the demo)")
        return 2
    return demo()


def demo() -> int:
    s = settings()
    code = preflight(s)
    if code:
        return code
    bad = os.environ.get("CANARY_BAD", "") not in ("", "0", "false")
    return run_stack(s, bad=bad, until=lambda: run_mlgate(demo_config()))


if __name__ == "__main__":
    sys.exit(main())
