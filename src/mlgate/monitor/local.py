"""`mlgate monitor-local`: the dashboards' data source on this machine (`make monitor-local`).

The local canary stack (`mlgate.canary.local_stack`, addresses from the `canary` section of mlgate.yaml)
with the traffic split evenly: the baseline and the canary (two copies of the service), nginx in front at
50 %, golden traffic replayed through it, and Prometheus scraping both with the project's alert rules
loaded (`--rules`) and the drift check's metrics (`--metrics-dir`, served over HTTP as job `drift`).

It prints the Prometheus URL to point Grafana's data source at (monitoring/grafana/provisioning) and runs
until Ctrl-C, or for `--duration` seconds. Grafana itself is not started: install it yourself (it is not
installable from the package registries this project's machines reach). `--fault` makes the canary answer
30 % of requests with 500 (FAULT_ERROR_RATE), so ModelHighErrorRate fires.
"""

from __future__ import annotations

import signal
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from mlgate.canary.config import CanarySection
from mlgate.gate import GateInputError, config_option

GATE = "monitor-local"
FAULT_ERROR_RATE = 0.3


class _MetricsHandler(SimpleHTTPRequestHandler):
    extensions_map = {".prom": "text/plain; version=0.0.4", "": "text/plain"}  # noqa: RUF012 - http.server's API

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_directory(directory: Path) -> ThreadingHTTPServer:
    """Serve `directory` on a free loopback port (a daemon thread); the caller shuts it down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_MetricsHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def announce(plan: CanarySection, prometheus: str, rules: Path, *, fault: bool, drift: str | None) -> None:
    url = f"http://{prometheus}"
    click.echo(f"Prometheus: {url}  (alerts: {url}/alerts, rules: {rules})")
    click.echo(
        f"services: baseline {plan.local.baseline_upstream}, canary {plan.local.canary_upstream}"
        f"{' (FAULT: 30 % errors)' if fault else ''}, nginx {plan.local.listen} at 50 %"
        + (
            f", drift metrics {drift}"
            if drift
            else ", no drift metrics (run make monitor-local's drift step)"
        )
    )
    click.echo(
        "Grafana is not started here: point its Prometheus data source at the URL above and "
        "load monitoring/grafana/ (see its README)."
    )


@click.command(GATE)
@config_option("canary")
@click.option("--serve-module", required=True, envvar="MLGATE_SERVE_MODULE", help="The service (python -m).")
@click.option(
    "--rules",
    envvar="MONITOR_RULES",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("monitoring/prometheus/rules.yml"),
    show_default=True,
    help="Alert and recording rules loaded into Prometheus.",
)
@click.option(
    "--metrics-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".mlgate/metrics"),
    show_default=True,
    help="Directory of *.prom files (mlgate drift-metrics) scraped as job `drift` (skipped when absent).",
)
@click.option("--golden", type=click.Path(path_type=Path), default=Path("data/golden.csv"), show_default=True)
@click.option("--model-uri", envvar="MODEL_URI", default="models", show_default=True)
@click.option(
    "--fault/--no-fault", envvar="MONITOR_FAULT", default=False, help="The canary answers 30 % with 500."
)
@click.option("--rps", envvar="MONITOR_RPS", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
@click.option(
    "--duration",
    envvar="MONITOR_DURATION",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Stop after this many seconds (0: run until Ctrl-C).",
)
@click.option(
    "--work-dir", type=click.Path(path_type=Path), default=Path(".mlgate/monitor-local"), show_default=True
)
def command(
    *,
    config_path: Path,
    serve_module: str,
    rules: Path,
    metrics_dir: Path,
    golden: Path,
    model_uri: str,
    fault: bool,
    rps: float,
    duration: float,
    work_dir: Path,
) -> int:
    """Bring up the services, nginx, Prometheus (with the alert rules) and golden traffic; print the URL."""
    from mlgate.canary import local_stack as ls
    from mlgate.canary.targets.local import LocalNginxTarget
    from mlgate.config import load_section
    from mlgate.gate import run_gate

    def work() -> int:
        plan = load_section(config_path, "canary", CanarySection)
        if not rules.is_file():
            raise GateInputError(
                "does not exist", file=rules, fix="pass the project's alert rules with --rules"
            )
        if not golden.is_file():
            raise GateInputError("does not exist", file=golden, fix="run `make pipeline` first")
        stack = ls.baseline_and_canary(
            plan,
            config_path=config_path,
            serve_module=serve_module,
            work=work_dir,
            models=(model_uri, model_uri),
            versions=("baseline", "candidate"),
            fault_rate=FAULT_ERROR_RATE if fault else 0.0,
            rule_files=[rules],
        )
        metrics_server = serve_directory(metrics_dir) if metrics_dir.is_dir() else None
        if metrics_server is not None:
            stack.extra_jobs["drift"] = f"127.0.0.1:{metrics_server.server_address[1]}/drift.prom"
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        signal.signal(signal.SIGTERM, ls.raise_interrupt)
        stopped = threading.Event()
        try:
            stack.start()
            target = LocalNginxTarget(plan.local, config_file=str(config_path))
            target.ensure_running()
            target.set_weights(50.0)
            columns = stack.request_columns()
            if not columns:
                raise GateInputError(
                    "the service publishes no JSON request schema for POST /predict at /openapi.json",
                    field=serve_module,
                    fix="serve a FastAPI app whose /predict takes a JSON body",
                )
            stack.start_traffic(ls.golden_rows(golden, columns), rate=rps, workers=2)
            announce(plan, stack.prometheus, rules, fault=fault, drift=stack.extra_jobs.get("drift"))
            click.echo("ready", err=True)
            stopped.wait(duration if duration > 0 else None)
            return 0
        except ls.StackError as exc:
            click.echo(f"monitor-local: {exc}", err=True)
            return 2
        except KeyboardInterrupt:
            return 0
        finally:
            ls.ignore_signals()
            stack.stop()
            if metrics_server is not None:
                metrics_server.shutdown()
            for sig, handler in previous.items():
                if handler is not None:
                    signal.signal(sig, handler)

    return run_gate(GATE, work)
