"""`mlgate canary-local`: a complete canary rollout on this machine, as `make canary-local` runs it.

    make canary-local                  # a healthy canary: promoted step by step to 100 %
    make canary-local CANARY_BAD=1     # the canary answers 30 % of requests with 500: rolled back

What runs (addresses from the `canary` section of mlgate.yaml, read through mlgate's config loader):
- the baseline and the canary: two copies of the project's service (`python -m <serve-module>`) on
  `canary.local.baseline_upstream` / `canary_upstream`, both serving `MODEL_URI` (default `models`;
  `CANARY_MODEL_URI` serves another model as the canary);
- Prometheus on `canary.prometheus.url`, scraping both every second (jobs `baseline` and `canary`);
- nginx on `canary.local.listen` — started and re-weighted by `mlgate canary` itself;
- a load generator replaying the golden data through nginx (`CANARY_RPS`, default 60 requests/s, from
  `CANARY_CONCURRENCY` clients, default 4);
- `mlgate canary`, whose timeline is printed and written to `.mlgate/canary.md`.

The demo's traffic is small and its service has no errors, so it runs `mlgate canary` on a copy of
mlgate.yaml (`.mlgate/canary-local/mlgate.yaml`) with demo settings, printed at the start: `bake_seconds: 20`
(`CANARY_BAKE_SECONDS`), `max_inconclusive: 4`, `analysis.error_rate_min_delta: 0.1` (`CANARY_MIN_DELTA`)
and `analysis.latency_max_ratio: 2` (`CANARY_LATENCY_RATIO`). Everything else is the project's mlgate.yaml
as it is; real rollouts use it unchanged.

Needs nginx and prometheus on PATH and a trained model. Everything is stopped at the end, also on Ctrl-C or
SIGTERM (mlgate rolls back to the baseline first). Every run starts clean: an nginx left over by an
interrupted run is stopped, Prometheus' data is wiped, and the run refuses to start while another process
holds one of the addresses.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path
from typing import Any

import click

from mlgate.canary.config import CanarySection
from mlgate.gate import GateInputError, config_option

GATE = "canary-local"
BAD_ERROR_RATE = 0.3


def demo_config(
    config_path: Path, work: Path, *, bake: float, min_delta: float, latency_ratio: float
) -> Path:
    """A copy of `config_path` with the demo's canary settings, validated like the original."""
    import yaml

    from mlgate.config import read_config, validate_section

    raw: dict[str, Any] = dict(read_config(config_path))
    canary = dict(raw.get("canary") or {})
    canary["bake_seconds"] = bake
    canary["max_inconclusive"] = 4
    canary["analysis"] = {
        **(canary.get("analysis") or {}),
        "error_rate_min_delta": min_delta,
        "latency_max_ratio": latency_ratio,
    }
    validate_section(canary, "canary", CanarySection, file=config_path)
    raw["canary"] = canary
    work.mkdir(parents=True, exist_ok=True)
    path = work / "mlgate.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _local_model_missing(uri: str) -> bool:
    return not re.match(r"^[A-Za-z][\w+.-]+:", uri) and not Path(uri).exists()


@click.command(GATE)
@config_option("canary")
@click.option(
    "--serve-module",
    required=True,
    envvar="MLGATE_SERVE_MODULE",
    help="The service, run twice as `python -m MODULE` with HOST, PORT and MODEL_URI (e.g. fraud.serve).",
)
@click.option(
    "--golden",
    type=click.Path(path_type=Path),
    default=Path("data/golden.csv"),
    show_default=True,
    help="CSV replayed as traffic (the columns the service's /predict accepts).",
)
@click.option("--model-uri", envvar="MODEL_URI", default="models", show_default=True, help="Baseline model.")
@click.option(
    "--canary-model-uri", envvar="CANARY_MODEL_URI", default=None, help="Canary model (default: --model-uri)."
)
@click.option(
    "--bad/--no-bad",
    envvar="CANARY_BAD",
    default=False,
    help=f"The canary answers {BAD_ERROR_RATE:.0%} of requests with 500 (FAULT_ERROR_RATE): a rollback.",
)
@click.option("--bake-seconds", envvar="CANARY_BAKE_SECONDS", type=click.FloatRange(min=1), default=20.0)
@click.option("--min-delta", envvar="CANARY_MIN_DELTA", type=click.FloatRange(0, 1), default=0.1)
@click.option("--latency-ratio", envvar="CANARY_LATENCY_RATIO", type=click.FloatRange(min=1.01), default=2.0)
@click.option("--rps", envvar="CANARY_RPS", type=click.FloatRange(min=0.1), default=60.0)
@click.option("--concurrency", envvar="CANARY_CONCURRENCY", type=click.IntRange(1, 64), default=4)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    default=Path(".mlgate/canary-local"),
    show_default=True,
    help="Logs, Prometheus' data and the demo copy of mlgate.yaml.",
)
def command(
    *,
    config_path: Path,
    serve_module: str,
    golden: Path,
    model_uri: str,
    canary_model_uri: str | None,
    bad: bool,
    bake_seconds: float,
    min_delta: float,
    latency_ratio: float,
    rps: float,
    concurrency: int,
    work_dir: Path,
) -> int:
    """Run a whole canary rollout locally: two services, nginx, Prometheus, golden traffic, mlgate canary."""
    from mlgate.canary import local_stack as ls
    from mlgate.config import load_section
    from mlgate.gate import run_gate

    def work() -> int:
        plan = load_section(config_path, "canary", CanarySection)
        missing = ls.missing_tools(plan)
        if missing:
            raise GateInputError(
                f"{' and '.join(missing)} not on PATH",
                field="canary.local.nginx_bin",
                fix="install them (Debian/Ubuntu: apt-get install nginx prometheus; macOS: brew install "
                "nginx prometheus)",
            )
        canary_uri = canary_model_uri or model_uri
        for uri in {model_uri, canary_uri}:
            if _local_model_missing(uri):
                raise GateInputError(
                    "no trained model there", file=uri, fix="run `make pipeline` first (or set MODEL_URI)"
                )
        if not golden.is_file():
            raise GateInputError("does not exist", file=golden, fix="run `make pipeline` first")
        stack = ls.LocalStack(
            canary=plan,
            serve_module=serve_module,
            work=work_dir,
            arms=[
                ls.Arm("baseline", plan.local.baseline_upstream, {"MODEL_URI": model_uri}),
                ls.Arm(
                    "canary",
                    plan.local.canary_upstream,
                    {
                        "MODEL_URI": canary_uri,
                        "MODEL_VERSION": "candidate",
                        "FAULT_ERROR_RATE": str(BAD_ERROR_RATE) if bad else "0",
                    },
                ),
            ],
        )
        ls.stop_nginx(stack.nginx_conf, plan.local.nginx_bin)  # left over by an interrupted run
        busy = stack.busy()
        if busy:
            raise GateInputError(
                f"{', '.join(busy)} already in use (an earlier canary-local still running?)",
                file=config_path,
                field="canary.local",
                fix="stop it or change the addresses (canary.local, canary.prometheus.url)",
            )
        config = demo_config(
            config_path, work_dir, bake=bake_seconds, min_delta=min_delta, latency_ratio=latency_ratio
        )
        ls.say(
            f"demo settings in {config}: bake {bake_seconds:g} s, max_inconclusive 4, "
            f"error_rate_min_delta {min_delta:g}, latency_max_ratio {latency_ratio:g}"
        )
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        signal.signal(signal.SIGTERM, ls.raise_interrupt)  # a killed run cleans up like Ctrl-C
        try:
            stack.start()
            columns = stack.request_columns()
            if not columns:
                raise GateInputError(
                    "the service publishes no JSON request schema for POST /predict at /openapi.json",
                    field=serve_module,
                    fix="serve a FastAPI app whose /predict takes a JSON body",
                )
            stack.start_traffic(ls.golden_rows(golden, columns), rate=rps, workers=concurrency)
            ls.say(
                f"baseline {plan.local.baseline_upstream}, canary {plan.local.canary_upstream}"
                f"{f' (BAD: {BAD_ERROR_RATE * 100:g} % errors)' if bad else ''}, nginx {stack.listen}, "
                f"Prometheus {stack.prometheus}"
            )
            argv = [sys.executable, "-m", "mlgate.cli", "canary", "--config", str(config)]
            argv += ["--environment", "local", "--model-version", "candidate"]
            return ls.run_interruptibly(
                argv,
                stack.cwd,
                lambda: ls.say(
                    "interrupted: mlgate rolls traffic back to the baseline, then everything stops"
                ),
            )
        except ls.StackError as exc:
            ls.say(str(exc))
            return 2
        except KeyboardInterrupt:
            return 130
        finally:
            ls.ignore_signals()  # cleanup (bounded) is not interrupted halfway
            stack.stop()
            for sig, handler in previous.items():
                if handler is not None:
                    signal.signal(sig, handler)

    return run_gate(GATE, work)
