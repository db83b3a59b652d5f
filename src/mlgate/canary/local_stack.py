"""The local canary stack: two copies of a project's service, Prometheus scraping them, nginx between them
(started and re-weighted by `mlgate canary` itself) and a load generator replaying the golden data.

`mlgate canary-local` (see `mlgate.canary.local_command`) runs a whole rollout on it; the monitoring tests
reuse `LocalStack` to bring the same services up with the project's alert rules loaded into Prometheus.

Every address comes from the `canary` section of mlgate.yaml, read by `mlgate.config.load_section`
(`canary.local.baseline_upstream` / `canary_upstream` / `listen` / `nginx_conf` / `nginx_bin`,
`canary.prometheus.url`): one set of defaults, the schema's. Everything binds where those say (127.0.0.1 by
default) and is stopped by `LocalStack.stop()`, which also stops an nginx the rollout left running.

The rows sent to `POST /predict` are the golden CSV's columns that the service's request schema names
(read from its OpenAPI document, with each value converted to the schema's type), so a service that
refuses unknown fields gets exactly what it accepts.
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mlgate.canary.config import CanarySection
from mlgate.errors import GateInputError

#: a row as sent to the service: column -> value of the schema's type
Row = dict[str, Any]


def say(message: str) -> None:
    sys.stderr.write(f"canary-local: {message}\n")
    sys.stderr.flush()


def host_port(url_or_address: str) -> str:
    """`http://127.0.0.1:9090/` -> `127.0.0.1:9090`."""
    return url_or_address.split("://", 1)[-1].split("/", 1)[0]


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


class StackError(Exception):
    """A part of the stack did not start; the message carries the tail of its log."""


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 120.0) -> None:
    """Wait until `url` answers 200; fail at once (with its log) when `proc` exits meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{url}: the process exited ({proc.returncode}):\n{log_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise StackError(f"{url} was not ready within {seconds:g} s:\n{log_tail(log)}")


def stop_nginx(nginx_conf: Path, nginx_bin: str) -> None:
    """Stop the nginx `mlgate canary` started (also one left over by an interrupted run) and wait for it."""
    pid_file = nginx_conf.parent / "nginx.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return
    subprocess.run(
        [nginx_bin, "-c", str(nginx_conf.resolve()), "-s", "quit"], check=False, capture_output=True
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


# -- the golden rows, typed by the service's request schema -------------------------------------------
def _resolve(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = document
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return node if isinstance(node, Mapping) else {}


def request_columns(openapi: Mapping[str, Any], path: str = "/predict") -> dict[str, str]:
    """Field name -> JSON type ("integer", "number", "boolean", "string") of `POST path`'s JSON body."""
    try:
        body = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    except (KeyError, TypeError):
        return {}
    properties = _resolve(body, openapi).get("properties") or {}
    columns: dict[str, str] = {}
    for name, raw in properties.items():
        prop = _resolve(raw, openapi)
        kinds = [prop.get("type")] + [_resolve(p, openapi).get("type") for p in prop.get("anyOf", [])]
        kind = next((k for k in kinds if k in ("integer", "number", "boolean")), "string")
        columns[str(name)] = kind
    return columns


def _typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "integer":
        return int(float(value))
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return value.strip().lower() in ("1", "true", "yes")
    return value


def golden_rows(path: Path, columns: Mapping[str, str]) -> list[Row]:
    """The rows of the CSV at `path`, restricted to `columns` and typed by them."""
    if not path.is_file():
        raise GateInputError(
            "does not exist", file=path, fix="run `make pipeline` first (it writes the golden data)"
        )
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        present = [name for name in columns if name in (reader.fieldnames or [])]
        if not present:
            raise GateInputError(
                f"has none of the columns the service's /predict accepts ({', '.join(columns)})",
                file=path,
                fix="replay a file with the service's request fields as columns",
            )
        try:
            return [{name: _typed(row[name], columns[name]) for name in present} for row in reader]
        except ValueError as exc:
            raise GateInputError(
                f"a value does not fit the service's request schema ({exc})",
                file=path,
                fix="fix the column's values or the service's request model",
            ) from None


def replay(url: str, rows: list[Row], rate: float, stop: threading.Event, seed: int = 0) -> None:
    """POST the rows in a shuffled order at about `rate` per second until `stop` (at most 1 h)."""
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


# -- the stack ------------------------------------------------------------------------------------------
@dataclass
class Arm:
    """One copy of the service: its name (the Prometheus job), address and extra environment."""

    name: str
    address: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalStack:
    """The services of `arms` (`python -m serve_module`), Prometheus scraping them, and traffic.

    nginx is not started here: `mlgate canary` starts and re-weights it (`canary.local`); `stop()` stops
    it too. `rule_files` are loaded into Prometheus (alert rules), `extra_jobs` are more scrape targets
    (job name -> host:port[/path]).
    """

    canary: CanarySection
    serve_module: str
    work: Path
    arms: list[Arm]
    rule_files: list[Path] = field(default_factory=list)
    extra_jobs: dict[str, str] = field(default_factory=dict)
    cwd: Path = field(default_factory=Path.cwd)
    #: how long each service may take to load its model and answer /readyz (a loaded runner: > 120 s)
    ready_seconds: float = 300.0
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False)
    stop_traffic: threading.Event = field(default_factory=threading.Event, init=False)
    threads: list[threading.Thread] = field(default_factory=list, init=False)

    @property
    def prometheus(self) -> str:
        return host_port(self.canary.prometheus.url)

    @property
    def listen(self) -> str:
        return self.canary.local.listen

    @property
    def nginx_conf(self) -> Path:
        return self.cwd / self.canary.local.nginx_conf

    def addresses(self) -> list[str]:
        return [arm.address for arm in self.arms] + [self.listen, self.prometheus]

    def busy(self) -> list[str]:
        return [address for address in self.addresses() if address_in_use(address)]

    def prometheus_config(self) -> str:
        jobs = {arm.name: arm.address for arm in self.arms} | self.extra_jobs
        scrape = ""
        for job, target in jobs.items():
            address, _, path = target.partition("/")
            scrape += f"  - job_name: {job}\n"
            if path:
                scrape += f"    metrics_path: /{path}\n"
            scrape += f"    static_configs:\n      - targets: ['{address}']\n"
        rules = "".join(f"  - {path.resolve()}\n" for path in self.rule_files)
        text = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        if rules:
            text += f"rule_files:\n{rules}"
        return text + f"scrape_configs:\n{scrape}"

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Path:
        log = self.work / f"{name}.log"
        with log.open("wb") as fh:
            self.procs.append(
                subprocess.Popen(
                    argv,
                    env=dict(env) if env is not None else None,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                )
            )
        return log

    def start(self) -> LocalStack:
        """Start the services and Prometheus (empty: its data of a past run is wiped); wait until ready."""
        shutil.rmtree(self.work / "tsdb", ignore_errors=True)
        self.work.mkdir(parents=True, exist_ok=True)
        ready: list[tuple[str, Path]] = []
        for arm in self.arms:
            host, port = arm.address.rsplit(":", 1)
            env = {**os.environ, "HOST": host, "PORT": port, "MODEL_VERSION": arm.name, **arm.env}
            log = self._spawn(arm.name, [sys.executable, "-m", self.serve_module], env)
            ready.append((f"http://{arm.address}/readyz", log))
        config = self.work / "prometheus.yml"
        config.write_text(self.prometheus_config(), encoding="utf-8")
        log = self._spawn(
            "prometheus",
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={self.work / 'tsdb'}",
                f"--web.listen-address={self.prometheus}",
            ],
        )
        ready.append((f"http://{self.prometheus}/-/ready", log))
        for proc, (url, log) in zip(self.procs, ready, strict=True):
            wait_ready(url, proc, log, self.ready_seconds)
        return self

    def request_columns(self) -> dict[str, str]:
        """The first arm's `POST /predict` request fields and their types, from its OpenAPI document."""
        url = f"http://{self.arms[0].address}/openapi.json"
        try:
            response = httpx.get(url, timeout=10.0)
            response.raise_for_status()
            return request_columns(response.json())
        except (httpx.HTTPError, ValueError):
            return {}

    def start_traffic(self, rows: list[Row], *, rate: float, workers: int, url: str | None = None) -> None:
        """Replay `rows` through nginx (or `url`) at about `rate` requests/s from `workers` clients."""
        target = url or f"http://{self.listen}/predict"
        for seed in range(workers):
            thread = threading.Thread(
                target=replay, args=(target, rows, rate / workers, self.stop_traffic, seed), daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        """Stop the traffic, nginx (when running) and every process started; bounded waits."""
        self.stop_traffic.set()
        for thread in self.threads:
            thread.join(timeout=10)
        stop_nginx(self.nginx_conf, self.canary.local.nginx_bin)
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def require_tools(canary: CanarySection) -> None:
    """nginx (`canary.local.nginx_bin`) and prometheus on PATH, else one line saying how to install them."""
    missing = [tool for tool in (canary.local.nginx_bin, "prometheus") if shutil.which(tool) is None]
    if missing:
        raise GateInputError(
            f"{' and '.join(missing)} not on PATH",
            field="canary.local.nginx_bin",
            fix="install them (Debian/Ubuntu: apt-get install nginx prometheus; macOS: brew install "
            "nginx prometheus)",
        )


def baseline_and_canary(
    canary: CanarySection,
    *,
    config_path: Path,
    serve_module: str,
    work: Path,
    models: tuple[str, str],
    versions: tuple[str, str],
    fault_rate: float,
    busy_hint: str = "",
    **options: Any,
) -> LocalStack:
    """The two-arm stack both local commands run, checked before anything starts: the tools are there, an
    nginx left over by an interrupted run is stopped, and every address is free. `models` and `versions`
    are (baseline, canary); the canary answers `fault_rate` of its requests with 500. `options` go to
    `LocalStack` (rule files, readiness timeout)."""
    require_tools(canary)
    arms = [
        Arm(name, address, {"MODEL_URI": model, "MODEL_VERSION": version})
        for name, address, model, version in zip(
            ("baseline", "canary"),
            (canary.local.baseline_upstream, canary.local.canary_upstream),
            models,
            versions,
            strict=True,
        )
    ]
    arms[1].env["FAULT_ERROR_RATE"] = str(fault_rate)
    stack = LocalStack(canary=canary, serve_module=serve_module, work=work, arms=arms, **options)
    stop_nginx(stack.nginx_conf, canary.local.nginx_bin)
    busy = stack.busy()
    if busy:
        raise GateInputError(
            f"{', '.join(busy)} already in use{busy_hint}",
            file=config_path,
            field="canary.local",
            fix="stop what holds them or change the addresses (canary.local, canary.prometheus.url)",
        )
    return stack


def run_interruptibly(argv: list[str], cwd: Path, on_interrupt: Callable[[], None]) -> int:
    """Run `argv`; on Ctrl-C or SIGTERM it gets SIGTERM too (mlgate canary rolls back) and is waited for."""
    proc = subprocess.Popen(argv, cwd=cwd)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # one interrupt is enough: uv and the terminal may deliver the signal again, and a second one here
        # would cut the wait for mlgate's rollback short and stop nginx under it
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        on_interrupt()
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGTERM)  # a cancelled rollout: mlgate rolls back and verifies
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        return code or 130


def raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def ignore_signals(signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
    for sig in signals:
        signal.signal(sig, signal.SIG_IGN)
