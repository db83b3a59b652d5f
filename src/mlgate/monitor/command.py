"""`mlgate prediction-log export`: the served sample, as a CSV the drift check reads.

    mlgate prediction-log export --output data/production_sample.csv [--min-rows 200]

Reads the newest files of the prediction log (`monitor.prediction_log`: the local directory, or the data
bucket with the s3 sink) and writes their request fields. When the log holds fewer than `--min-rows` rows
(none served, or the sink is out of reach from here) it writes nothing and says so: `found=false` tells
monitor.yml to fall back to simulated traffic, and the job summary names the reason. Exit 0 both ways; bad
configuration or a damaged log file is bad input (exit 1, one line).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import click

from mlgate.gate import config_option

GATE = "prediction-log"


def write_csv(rows: list[dict[str, Any]], output: Path, *, with_answers: bool) -> list[str]:
    from mlgate.monitor.prediction_log import META_COLUMNS

    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    if not with_answers:
        columns = [column for column in columns if column not in META_COLUMNS]
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return columns


@click.group(GATE)
def command() -> None:
    """The service's prediction log (monitor.prediction_log in mlgate.yaml)."""


@command.command("export")
@config_option("monitor")
@click.option(
    "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="CSV to write."
)
@click.option(
    "--max-rows", type=click.IntRange(min=1), default=50_000, show_default=True, help="Newest rows kept."
)
@click.option(
    "--min-rows",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Fewer rows than this is no served sample (found=false): too few to judge drift on.",
)
@click.option(
    "--with-answers/--requests-only",
    default=False,
    help="Also write the log's own columns (_logged_at, _model_version, _score, _decision).",
)
def export_command(config_path: Path, output: Path, max_rows: int, min_rows: int, with_answers: bool) -> int:
    """Write the newest rows of the prediction log as a CSV sample (found=false when too few)."""
    from mlgate import github
    from mlgate.gate import run_gate
    from mlgate.monitor.prediction_log import load_settings, read_rows

    def work() -> int:
        settings = load_settings(config_path)
        runner = github.Runner.from_env()
        where = f"s3://{settings.bucket}/{settings.prefix}" if settings.sink == "s3" else settings.directory
        problem = ""
        rows: list[dict[str, Any]] = []
        if not settings.enabled:
            problem = "the prediction log is disabled (monitor.prediction_log.enabled: false)"
        else:
            try:
                rows = read_rows(settings, max_rows=max_rows)
            except OSError as exc:
                problem = f"{where} cannot be read here ({exc})"
            except Exception as exc:
                if type(exc).__module__.split(".")[0] not in ("botocore", "boto3"):
                    raise
                problem = f"{where} cannot be read here ({exc})"
            if not problem and len(rows) < min_rows:
                problem = f"{where} holds {len(rows)} served row(s), fewer than --min-rows {min_rows}"
        if problem:
            message = f"no served sample: {problem}"
            click.echo(message, err=True)
            runner.annotate("notice", message, title="mlgate prediction-log")
            runner.set_outputs({"found": "false", "rows": str(len(rows)), "reason": problem})
            return 0
        columns = write_csv(rows, output, with_answers=with_answers)
        click.echo(f"{output}: {len(rows)} served row(s) from {where} ({len(columns)} columns)", err=True)
        runner.set_outputs({"found": "true", "rows": str(len(rows)), "path": str(output), "reason": ""})
        return 0

    return run_gate(GATE, work)


@click.command("drift-metrics")
@click.option(
    "--result",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".mlgate/reports/drift.json"),
    show_default=True,
    help="The JSON result of `mlgate drift` / `drift-check`.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".mlgate/metrics/drift.prom"),
    show_default=True,
    help="Prometheus text file to write (textfile collector, Pushgateway, `mlgate monitor-local`).",
)
def drift_metrics_command(result: Path, output: Path) -> int:
    """Write the drift check's per-column drift, null rates and freshness as Prometheus metrics."""
    from mlgate.gate import run_gate
    from mlgate.monitor.drift_metrics import convert

    def work() -> int:
        count = convert(result, output)
        click.echo(f"{output}: {count} series from {result}", err=True)
        return 0

    return run_gate("drift-metrics", work)
