"""`mlgate canary-local`: a complete canary rollout on this machine, as `make canary-local` runs it.

    make canary-local                  # a healthy canary: promoted step by step to 100 %
    make canary-local CANARY_BAD=1     # the canary answers 30 % of requests with 500: rolled back

    mlgate canary-local --serve-module PKG.serve --start   # only the stack (services, Prometheus,
    mlgate canary-local --stop                             # traffic) in the background, for a
                                                           # `mlgate canary` run in between (cd.yml's
                                                           # local target: champion vs previous model)

`--start` runs the stack in a detached process (`--serve-stack`, its pid in `<work-dir>/stack.pid`, its log
in `stack.log`) and returns once every part answers (`stack.ready`), or fails with the log's tail;
`--stop` ends it (SIGTERM, then SIGKILL of its process group after 60 s) and the nginx `mlgate canary`
started, and leaves nothing running.

What runs (addresses from the `canary` section of mlgate.yaml, or of `--config` / `CANARY_CONFIG` /
`MLGATE_CONFIG`, read through mlgate's config loader):
- the baseline and the canary: two copies of the project's service (`python -m <serve-module>`) on
  `canary.local.baseline_upstream` / `canary_upstream`, both serving `--model-uri` (`BASELINE_MODEL_URI`,
  else `MODEL_URI`, default `models`); `--canary-model-uri` (`CANARY_MODEL_URI`) serves another model as
  the canary; `--baseline-version` / `--model-version` (`BASELINE_MODEL_VERSION` / `CANARY_MODEL_VERSION`,
  defaults `baseline` and `candidate`) name the versions they report, the latter also `mlgate canary`'s;
  each may take `--ready-seconds` (`CANARY_READY_SECONDS`, default 300) to load its model;
- Prometheus on `canary.prometheus.url`, scraping both every second (jobs `baseline` and `canary`);
- nginx on `canary.local.listen` — started and re-weighted by `mlgate canary` itself;
- a load generator replaying the golden data (`--golden`, `CANARY_GOLDEN_DATA`, default data/golden.csv)
  through nginx (`CANARY_RPS`, default 60 requests/s, from
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

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from mlgate.canary.config import CanarySection
from mlgate.gate import GateInputError

GATE = "canary-local"
BAD_ERROR_RATE = 0.3
PID_FILE = "stack.pid"
READY_FILE = "stack.ready"
LOG_FILE = "stack.log"


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


def _stack(
    config_path: Path,
    *,
    serve_module: str,
    golden: Path,
    model_uri: str,
    canary_model_uri: str | None,
    versions: tuple[str, str],
    bad: bool,
    work_dir: Path,
    ready_seconds: float,
) -> Any:
    """The checked `LocalStack` (tools, models, golden data, free addresses), before anything starts."""
    from mlgate.canary import local_stack as ls
    from mlgate.config import load_section

    plan = load_section(config_path, "canary", CanarySection)
    canary_uri = canary_model_uri or model_uri
    for uri in {model_uri, canary_uri}:
        if _local_model_missing(uri):
            raise GateInputError(
                "no trained model there",
                file=uri,
                fix="run `make pipeline` first (or set BASELINE_MODEL_URI / CANARY_MODEL_URI)",
            )
    if not golden.is_file():
        raise GateInputError("does not exist", file=golden, fix="run `make pipeline` first")
    return ls.baseline_and_canary(
        plan,
        config_path=config_path,
        serve_module=serve_module,
        work=work_dir,
        models=(model_uri, canary_uri),
        versions=versions,
        fault_rate=BAD_ERROR_RATE if bad else 0.0,
        busy_hint=" (an earlier canary-local still running? `mlgate canary-local --stop` ends one started "
        "with --start)",
        ready_seconds=ready_seconds,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _started_pid(work_dir: Path) -> int | None:
    """The pid of the stack `--start` began, while it runs."""
    try:
        pid = int((work_dir / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def stop_background(config_path: Path, work_dir: Path) -> int:
    """`--stop`: end the stack `--start` began (SIGTERM, then SIGKILL of its process group) and nginx."""
    from mlgate.canary import local_stack as ls
    from mlgate.config import load_section

    pid_file = work_dir / PID_FILE
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        ls.say("no stack running")
        pid = 0
    if pid:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)  # it stops its traffic, nginx and services itself
        deadline = time.monotonic() + 60
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # whatever of its session is left (it leads its own group)
        pid_file.unlink(missing_ok=True)
        (work_dir / READY_FILE).unlink(missing_ok=True)
    plan = load_section(config_path, "canary", CanarySection)
    ls.stop_nginx(Path.cwd() / plan.local.nginx_conf, plan.local.nginx_bin)
    if pid:
        ls.say("stack stopped")
    return 0


def start_background(argv: list[str], work_dir: Path, ready_seconds: float) -> int:
    """`--start`: run `argv` (the stack, `--serve-stack`) detached; return once it is ready (or failed)."""
    from mlgate.canary import local_stack as ls

    work_dir.mkdir(parents=True, exist_ok=True)
    ready = work_dir / READY_FILE
    ready.unlink(missing_ok=True)
    log = work_dir / LOG_FILE
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the shell step that started it, until --stop
        )
    (work_dir / PID_FILE).write_text(str(proc.pid), encoding="utf-8")
    limit = 3 * ready_seconds + 60  # both services and Prometheus, one after the other
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ready.exists():
            ls.say(f"stack running (pid {proc.pid}, log {log}); `mlgate canary-local --stop` ends it")
            return 0
        if proc.poll() is not None:
            ls.say(f"the stack exited ({proc.returncode}):\n{ls.log_tail(log)}")
            (work_dir / PID_FILE).unlink(missing_ok=True)
            return proc.returncode or 1
        time.sleep(0.3)
    ls.say(f"the stack was not ready within {limit:g} s:\n{ls.log_tail(log)}")
    return 1


@click.command(GATE)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("mlgate.yaml"),
    envvar=["CANARY_CONFIG", "MLGATE_CONFIG"],
    show_default=True,
    help="mlgate.yaml (section `canary`); env CANARY_CONFIG, else MLGATE_CONFIG.",
)
@click.option(
    "--start",
    "mode",
    flag_value="start",
    help="Only start the stack (services, Prometheus, traffic) detached; return once it is ready.",
)
@click.option("--stop", "mode", flag_value="stop", help="Stop the stack --start began, and nginx.")
@click.option("--serve-stack", "mode", flag_value="serve-stack", hidden=True)
@click.option(
    "--serve-module",
    envvar="MLGATE_SERVE_MODULE",
    default=None,
    help="The service, run twice as `python -m MODULE` with HOST, PORT and MODEL_URI (e.g. fraud.serve); "
    "required unless --stop.",
)
@click.option(
    "--golden",
    type=click.Path(path_type=Path),
    envvar="CANARY_GOLDEN_DATA",
    default=Path("data/golden.csv"),
    show_default=True,
    help="CSV replayed as traffic (the columns the service's /predict accepts).",
)
@click.option(
    "--model-uri",
    envvar=["BASELINE_MODEL_URI", "MODEL_URI"],
    default="models",
    show_default=True,
    help="Baseline model (env BASELINE_MODEL_URI, else MODEL_URI).",
)
@click.option(
    "--canary-model-uri", envvar="CANARY_MODEL_URI", default=None, help="Canary model (default: --model-uri)."
)
@click.option(
    "--baseline-version",
    envvar="BASELINE_MODEL_VERSION",
    default="baseline",
    show_default=True,
    help="MODEL_VERSION the baseline reports.",
)
@click.option(
    "--model-version",
    envvar="CANARY_MODEL_VERSION",
    default="candidate",
    show_default=True,
    help="MODEL_VERSION the canary reports, and `mlgate canary --model-version`.",
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
    "--ready-seconds",
    envvar="CANARY_READY_SECONDS",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="How long each service may take to load its model and answer /readyz.",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    default=Path(".mlgate/canary-local"),
    show_default=True,
    help="Logs, Prometheus' data, the demo copy of mlgate.yaml and --start's pid and ready files.",
)
def command(
    *,
    config_path: Path,
    mode: str | None,
    serve_module: str | None,
    golden: Path,
    model_uri: str,
    canary_model_uri: str | None,
    baseline_version: str,
    model_version: str,
    bad: bool,
    bake_seconds: float,
    min_delta: float,
    latency_ratio: float,
    rps: float,
    concurrency: int,
    ready_seconds: float,
    work_dir: Path,
) -> int:
    """Run a whole canary rollout locally: two services, nginx, Prometheus, golden traffic, mlgate canary
    (or, with --start / --stop, only the stack in the background)."""
    from mlgate.canary import local_stack as ls
    from mlgate.gate import run_gate

    def work() -> int:
        if mode == "stop":
            return stop_background(config_path, work_dir)
        if not serve_module:
            raise GateInputError(
                "--serve-module is missing",
                field="--serve-module",
                fix="name the service's module (e.g. --serve-module fraud.serve, or MLGATE_SERVE_MODULE)",
            )
        running = _started_pid(work_dir) if mode != "serve-stack" else None  # not itself
        if running:
            raise GateInputError(
                f"the stack `--start` began is still running (pid {running})",
                file=work_dir / PID_FILE,
                fix="end it with `mlgate canary-local --stop` first",
            )
        stack = _stack(
            config_path,
            serve_module=serve_module,
            golden=golden,
            model_uri=model_uri,
            canary_model_uri=canary_model_uri,
            versions=(baseline_version, model_version),
            bad=bad,
            work_dir=work_dir,
            ready_seconds=ready_seconds,
        )
        if mode == "start":
            argv = [sys.executable, "-m", "mlgate.cli", GATE, "--serve-stack", "--config", str(config_path)]
            argv += ["--serve-module", serve_module, "--golden", str(golden), "--model-uri", model_uri]
            argv += ["--canary-model-uri", canary_model_uri or model_uri, "--bad" if bad else "--no-bad"]
            argv += ["--baseline-version", baseline_version, "--model-version", model_version]
            argv += ["--rps", str(rps), "--concurrency", str(concurrency), "--work-dir", str(work_dir)]
            argv += ["--ready-seconds", str(ready_seconds)]
            return start_background(argv, work_dir, ready_seconds)
        config = None
        if mode is None:
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
            canary_uri = canary_model_uri or model_uri
            ls.say(
                f"baseline {stack.arms[0].address} ({model_uri}, version {baseline_version}), canary "
                f"{stack.arms[1].address} ({canary_uri}, version {model_version})"
                f"{f' (BAD: {BAD_ERROR_RATE * 100:g} % errors)' if bad else ''}, nginx {stack.listen}, "
                f"Prometheus {stack.prometheus}"
            )
            if config is None:  # --serve-stack: serve until --stop (SIGTERM), an hour at most
                (work_dir / READY_FILE).write_text("ready", encoding="utf-8")
                threading.Event().wait(3600)
                return 0
            argv = [sys.executable, "-m", "mlgate.cli", "canary", "--config", str(config)]
            argv += ["--environment", "local", "--model-version", model_version]
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
            return 0 if config is None else 130
        finally:
            ls.ignore_signals()  # cleanup (bounded) is not interrupted halfway
            stack.stop()
            (work_dir / READY_FILE).unlink(missing_ok=True)
            for sig, handler in previous.items():
                if handler is not None:
                    signal.signal(sig, handler)

    return run_gate(GATE, work)
