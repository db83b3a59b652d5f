"""A real `mlflow server` on 127.0.0.1 for the tests of `mlflow_tracking=server`: a sqlite backend store and
artifacts proxied through the server (`--artifacts-destination`), so clients talk HTTP only.

    with MlflowServer.start(tmp) as server:
        env["MLFLOW_TRACKING_URI"] = server.url

Started on a free port, waited for (`/health`, bounded), stopped (terminate, then kill) by the context.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.act import free_port

START_TIMEOUT = 180.0


@dataclass
class MlflowServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, root: Path) -> MlflowServer:
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log = root / "server.log"
        mlflow = Path(sys.executable).parent / "mlflow"
        args = [
            str(mlflow),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'backend.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = cls(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({process.returncode}):\n{server.output()}")
            try:
                with urllib.request.urlopen(f"{server.url}/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return server
            except OSError:
                time.sleep(0.5)
        server.stop()
        raise RuntimeError(f"mlflow server did not answer within {START_TIMEOUT:.0f} s:\n{server.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server and its workers: our own session
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def __enter__(self) -> MlflowServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
