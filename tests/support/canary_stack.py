"""A real local canary stack for tests: two small model servers, Prometheus scraping them, and a load
generator sending traffic through the nginx that `mlgate canary` (target: local) starts.

The model servers export the series the generated project's FastAPI service exports and mlgate's
`canary.prometheus` defaults read: `model_requests_total{endpoint,method,status,model_version}`,
`model_request_latency_seconds{endpoint,model_version}`, `model_prediction_score{endpoint,model_version}`
(successful predictions only), with the generated service's latency buckets.
Run one alone: `python -m tests.support.canary_stack serve --port 8001 --version 1 --error-rate 0`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from mlgate.canary.config import CanarySection
from mlgate.canary.local_stack import Arm, LocalStack

REPO = Path(__file__).resolve().parents[2]

SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
#: the generated service's latency buckets (its serve.py)
LATENCY_BUCKETS = (
    0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.010, 0.0115, 0.013, 0.015, 0.0175,
    0.020, 0.023, 0.026, 0.030, 0.035, 0.040, 0.045, 0.050, 0.0575, 0.065, 0.075, 0.085, 0.100, 0.115,
    0.130, 0.150, 0.175, 0.200, 0.230, 0.260, 0.300, 0.350, 0.400, 0.450, 0.500, 0.575, 0.650, 0.750,
    0.850, 1.0, 1.25, 1.5, 2.0, 2.5, 5.0, 10.0,
)  # fmt: skip


#: the request schema `mlgate canary-local` reads to shape the replayed rows
OPENAPI = {
    "paths": {
        "/predict": {
            "post": {
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}
                }
            }
        }
    },
    "components": {
        "schemas": {
            "Request": {
                "properties": {
                    "transaction_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "amount": {"type": "number"},
                }
            }
        }
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:g} s")


# -- the model server (runs in its own process) -------------------------------------------------------
def serve(
    port: int, version: str, *, error_rate: float, latency_ms: float, score_shift: float, seed: int
) -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    registry = CollectorRegistry()
    requests = Counter(
        "model_requests", "Requests", ["endpoint", "method", "status", "model_version"], registry=registry
    )
    latency = Histogram(
        "model_request_latency_seconds",
        "Request latency",
        ["endpoint", "model_version"],
        registry=registry,
        buckets=LATENCY_BUCKETS,
    )
    scores = Histogram(
        "model_prediction_score",
        "Predicted scores",
        ["endpoint", "model_version"],
        buckets=SCORE_BUCKETS,
        registry=registry,
    )
    rng = random.Random(seed)  # noqa: S311 - simulated model behaviour, not security
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(registry), "text/plain; version=0.0.4")
            elif self.path == "/openapi.json":
                self._send(200, json.dumps(OPENAPI).encode())
            elif self.path in ("/healthz", "/readyz"):
                self._send(200, json.dumps({"status": "ok", "model_version": version}).encode())
            else:
                self._send(404, b"{}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            start = time.perf_counter()
            with lock:
                fail = rng.random() < error_rate
                score = min(1.0, max(0.0, rng.betavariate(2, 5) + score_shift))
                delay = rng.lognormvariate(0, 0.3) * latency_ms / 1000
            time.sleep(delay)
            if fail:
                requests.labels("/predict", "POST", "500", version).inc()
                latency.labels("/predict", version).observe(time.perf_counter() - start)
                self._send(500, b'{"detail": "model error"}')
                return
            requests.labels("/predict", "POST", "200", version).inc()
            scores.labels("/predict", version).observe(score)
            latency.labels("/predict", version).observe(time.perf_counter() - start)
            self._send(200, json.dumps({"score": score, "model_version": version}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


# -- the stack the tests drive -------------------------------------------------------------------------
@dataclass
class CanaryStack:
    """mlgate's own `LocalStack` (what `mlgate canary-local` runs) with this module's model servers."""

    workdir: Path
    canary_error_rate: float = 0.0
    canary_version: str = "2"
    baseline_port: int = 0
    canary_port: int = 0
    prometheus_port: int = 0
    nginx_port: int = 0
    rule_files: list[Path] = field(default_factory=list)
    extra_jobs: dict[str, str] = field(default_factory=dict)
    stack: LocalStack | None = None
    _stop_load: threading.Event = field(default_factory=threading.Event)
    _load_thread: threading.Thread | None = None
    sent: int = 0

    def start(self) -> CanaryStack:
        self.baseline_port, self.canary_port = free_port(), free_port()
        self.prometheus_port, self.nginx_port = free_port(), free_port()
        self.stack = LocalStack(
            canary=CanarySection.model_validate(self.config()),
            serve_module="tests.support.canary_stack",
            work=self.workdir / "stack",
            arms=[
                Arm("baseline", f"127.0.0.1:{self.baseline_port}", {"MODEL_VERSION": "1", "SEED": "1"}),
                Arm(
                    "canary",
                    f"127.0.0.1:{self.canary_port}",
                    {
                        "MODEL_VERSION": self.canary_version,
                        "FAULT_ERROR_RATE": str(self.canary_error_rate),
                        "SEED": "2",
                    },
                ),
            ],
            rule_files=self.rule_files,
            extra_jobs=self.extra_jobs,
            cwd=REPO,
        )
        try:
            self.stack.start()
        except BaseException:
            self.stack.stop()
            raise
        return self

    @property
    def procs(self) -> list[subprocess.Popen[bytes]]:
        """The processes started: the two model servers, then Prometheus."""
        return self.stack.procs if self.stack is not None else []

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def nginx_conf(self) -> Path:
        return self.workdir / "nginx" / "nginx.conf"

    def config(self, **canary: object) -> dict[str, object]:
        """A `canary` section pointing at this stack (short bake for tests)."""
        section: dict[str, object] = {
            "target": "local",
            "steps": [20, 50, 100],
            "bake_seconds": 4,
            "min_requests": 20,
            "max_inconclusive": 3,
            # a test's traffic (a few hundred canary requests, no errors) cannot rule out a 2x error rate
            # of a service without errors; it rules out 5 % errors instead, as the local demo does
            "analysis": {"error_rate_min_delta": 0.05},
            "prometheus": {"url": self.prometheus_url},
            "local": {
                "nginx_conf": str(self.nginx_conf),
                "listen": f"127.0.0.1:{self.nginx_port}",
                "baseline_upstream": f"127.0.0.1:{self.baseline_port}",
                "canary_upstream": f"127.0.0.1:{self.canary_port}",
            },
        }
        section.update(canary)
        return section

    def start_load(self, rate: float = 60.0, max_seconds: float = 120.0) -> None:
        """Send POST /predict through nginx at about `rate` per second until stopped (bounded)."""
        url = f"http://127.0.0.1:{self.nginx_port}/predict"

        def loop() -> None:
            deadline = time.monotonic() + max_seconds
            with httpx.Client(timeout=5.0) as client:
                while not self._stop_load.is_set() and time.monotonic() < deadline:
                    try:
                        client.post(url, json={"amount": 12.5})
                        self.sent += 1
                    except httpx.HTTPError:
                        pass  # nginx not up yet, or reloading
                    self._stop_load.wait(1.0 / rate)

        self._load_thread = threading.Thread(target=loop, daemon=True)
        self._load_thread.start()

    def nginx_weights(self) -> float:
        body = httpx.get(f"http://127.0.0.1:{self.nginx_port}/mlgate/weights", timeout=5.0).json()
        return float(body["canary_percent"])

    def stop(self) -> None:
        self._stop_load.set()
        if self._load_thread is not None:
            self._load_thread.join(timeout=10)
        if self.stack is not None:
            self.stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--version", default="1")
    s.add_argument("--error-rate", type=float, default=0.0)
    s.add_argument("--latency-ms", type=float, default=5.0)
    s.add_argument("--score-shift", type=float, default=0.0)
    s.add_argument("--seed", type=int, default=0)
    if not (argv if argv is not None else sys.argv[1:]):  # as `LocalStack` runs a service: from the env
        serve(
            int(os.environ["PORT"]),
            os.environ.get("MODEL_VERSION", "1"),
            error_rate=float(os.environ.get("FAULT_ERROR_RATE") or 0),
            latency_ms=5.0,
            score_shift=float(os.environ.get("SCORE_SHIFT") or 0),
            seed=int(os.environ.get("SEED") or 0),
        )
        return 0
    args = parser.parse_args(argv)
    serve(
        args.port,
        args.version,
        error_rate=args.error_rate,
        latency_ms=args.latency_ms,
        score_shift=args.score_shift,
        seed=args.seed,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
