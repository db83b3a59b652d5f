"""The local target: two model servers behind nginx with weighted upstreams.

mlgate owns one nginx config file (`canary.local.nginx_conf`): setting the weights rewrites it, checks it
with `nginx -t` and reloads nginx. The config also serves `GET /mlgate/weights` from nginx itself, so
reading the weights back shows what the *running* nginx applies, not what the file says.

`nginx -s reload` only signals the master: the old worker processes keep accepting connections (with the
old weights) until they have processed the master's shutdown request. So a shift waits until every
worker that served before the reload has exited (on Linux, from /proc) before the weights are read
back — otherwise one read could reach a new worker and "verify" a rollback while an old worker still
sends traffic to the canary. `worker_shutdown_timeout` bounds how long an old worker may linger.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from mlgate.canary.config import LocalSettings
from mlgate.canary.controller import TargetError
from mlgate.gate import GateInputError

WEIGHTS_PATH = "/mlgate/weights"
#: old workers finish in-flight requests for at most this long after a reload (nginx.conf)
WORKER_SHUTDOWN_SECONDS = 10
#: how long a shift waits for the reload to replace every old worker
RELOAD_TIMEOUT_SECONDS = WORKER_SHUTDOWN_SECONDS + 20


def _children(pid: int) -> set[int] | None:
    """Process ids whose parent is `pid` (nginx's workers), from /proc; None where /proc is missing."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    children: set[int] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may contain spaces or parentheses, so split after the last ")"
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[0] != "Z" and fields[1] == str(pid):
            children.add(int(entry.name))
    return children


def render_nginx_conf(settings: LocalSettings, canary_percent: float, state_dir: Path) -> str:
    """nginx.conf for `canary_percent` % on the canary (weights in tenths of a percent)."""
    canary_weight = round(canary_percent * 10)
    baseline_weight = 1000 - canary_weight
    servers = []
    if baseline_weight > 0:
        servers.append(f"        server {settings.baseline_upstream} weight={baseline_weight};")
    if canary_weight > 0:
        servers.append(f"        server {settings.canary_upstream} weight={canary_weight};")
    weights = json.dumps({"canary_percent": canary_weight / 10})
    d = state_dir.resolve()
    return "\n".join(
        [
            "# Written by `mlgate canary` (target: local). Edits are overwritten at the next traffic shift.",
            "worker_processes 1;",
            "daemon on;",
            f"worker_shutdown_timeout {WORKER_SHUTDOWN_SECONDS}s;",
            f"pid {d}/nginx.pid;",
            f"error_log {d}/nginx-error.log warn;",
            "events { worker_connections 512; }",
            "http {",
            "    access_log off;",
            f"    client_body_temp_path {d}/client_body;",
            f"    proxy_temp_path {d}/proxy;",
            f"    fastcgi_temp_path {d}/fastcgi;",
            f"    uwsgi_temp_path {d}/uwsgi;",
            f"    scgi_temp_path {d}/scgi;",
            "    upstream mlgate_model {",
            *servers,
            "    }",
            "    server {",
            f"        listen {settings.listen};",
            f"        location = {WEIGHTS_PATH} {{ default_type application/json; return 200 '{weights}'; }}",
            "        location / { proxy_pass http://mlgate_model; proxy_next_upstream off; }",
            "    }",
            "}",
            "",
        ]
    )


class LocalNginxTarget:
    def __init__(self, settings: LocalSettings, *, config_file: str = "mlgate.yaml") -> None:
        self.settings = settings
        self.config_file = config_file
        self.conf = Path(settings.nginx_conf)
        self.state_dir = self.conf.parent

    def describe(self) -> str:
        return f"nginx at {self.settings.listen} ({self.conf})"

    def _nginx(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.settings.nginx_bin, "-c", str(self.conf.resolve()), *args],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"could not run {self.settings.nginx_bin}: {exc}") from exc

    def _pid(self) -> int | None:
        pid_file = self.state_dir / "nginx.pid"
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def _write(self, canary_percent: float) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.conf.with_suffix(".tmp")
        tmp.write_text(render_nginx_conf(self.settings, canary_percent, self.state_dir), encoding="utf-8")
        tmp.replace(self.conf)
        test = self._nginx("-t")
        if test.returncode != 0:
            raise TargetError(f"nginx rejected {self.conf}: {test.stderr.strip().splitlines()[-1:]}")

    def ensure_running(self) -> None:
        """Start nginx with all traffic on the baseline when it is not running yet."""
        if self._pid() is not None:
            return
        try:
            self._write(0.0)
        except TargetError as exc:
            raise GateInputError(
                str(exc),
                file=self.config_file,
                field="canary.local",
                fix="check listen / upstream addresses and that nginx is installed",
            ) from None
        started = self._nginx()
        if started.returncode != 0:
            raise GateInputError(
                f"nginx did not start: {started.stderr.strip()}",
                file=self.config_file,
                field="canary.local.listen",
                fix="free the port or choose another",
            ) from None

    def stop(self) -> None:
        if self._pid() is not None:
            self._nginx("-s", "quit")

    def set_weights(self, canary_percent: float) -> None:
        if self._pid() is None:
            raise TargetError(f"nginx is not running ({self.state_dir / 'nginx.pid'})")
        self._write(canary_percent)
        master = self._pid()
        old_workers = _children(master) if master is not None else None
        reload = self._nginx("-s", "reload")
        if reload.returncode != 0:
            raise TargetError(f"nginx reload failed: {reload.stderr.strip()}")
        if master is not None and old_workers is not None:
            self._wait_for_reload(master, old_workers)

    def _wait_for_reload(self, master: int, old_workers: set[int]) -> None:
        """Block until new workers run and every pre-reload worker has exited (TargetError after a timeout).

        A worker that outlives the reload still accepts connections with the old weights, so reading the
        weights back before they are gone would not show what nginx applies."""
        deadline = time.monotonic() + RELOAD_TIMEOUT_SECONDS
        while True:
            workers = _children(master)
            if workers is None:
                return  # no /proc: fall back to reading the weights back
            lingering = workers & old_workers
            if workers and not lingering:
                return
            if time.monotonic() > deadline:
                raise TargetError(
                    f"nginx reload did not finish within {RELOAD_TIMEOUT_SECONDS} s: "
                    f"old worker(s) {sorted(lingering)} still serving the previous weights"
                    if lingering
                    else f"nginx reload did not start any worker within {RELOAD_TIMEOUT_SECONDS} s"
                )
            time.sleep(0.05)

    def read_weights(self) -> float:
        import httpx

        try:
            response = httpx.get(f"http://{self.settings.listen}{WEIGHTS_PATH}", timeout=5.0)
            response.raise_for_status()
            return float(response.json()["canary_percent"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise TargetError(f"could not read weights from nginx at {self.settings.listen}: {exc}") from exc

    def serving_version(self) -> str | None:
        """The model version the canary server reports on /readyz (`model_version`), else /healthz."""
        import httpx

        body: object = None
        for path in ("/readyz", "/healthz"):
            try:
                response = httpx.get(f"http://{self.settings.canary_upstream}{path}", timeout=5.0)
            except httpx.HTTPError as exc:
                raise GateInputError(
                    f"the canary server at {self.settings.canary_upstream} did not answer: {exc}",
                    file=self.config_file,
                    field="canary.local.canary_upstream",
                    fix="start the canary model server first",
                ) from None
            if response.status_code == 503:
                raise GateInputError(
                    f"the canary server at {self.settings.canary_upstream} is not ready: "
                    f"{response.text[:200]}",
                    file=self.config_file,
                    field="canary.local.canary_upstream",
                    fix="wait until its model is loaded (GET /readyz answers 200)",
                )
            if response.status_code == 200:
                try:
                    body = response.json()
                except ValueError:
                    body = None
                if isinstance(body, dict) and ("model_version" in body or "version" in body):
                    break
        if not isinstance(body, dict):
            return None
        value = body.get("model_version", body.get("version"))
        return None if value is None else str(value)
