"""The drift check's result as Prometheus metrics: `mlgate drift-metrics`.

    mlgate drift --data data/production_sample.csv            # writes .mlgate/reports/drift.json
    mlgate drift-metrics --result .mlgate/reports/drift.json --output .mlgate/metrics/drift.prom

Reads the JSON result `mlgate drift` (and `drift-check`) writes — not the drift modules — and writes it in
Prometheus' text format, for node_exporter's textfile collector, a Pushgateway (`curl --data-binary
@drift.prom`), or `mlgate monitor-local`, which serves the directory to its Prometheus. The data-quality
dashboard (monitoring/grafana/) reads these series:

    mlgate_data_column_drift_statistic{column,test}   the deciding test's statistic (PSI, KS D, chi2)
    mlgate_data_column_psi{column}                     PSI against the reference profile
    mlgate_data_column_drifted{column}                 1 when the column drifted
    mlgate_data_column_null_rate{column,dataset}       null rate, dataset="current" | "reference"
    mlgate_data_drift_share                            share of columns that drifted
    mlgate_data_dataset_drift                          1 when the dataset drifted
    mlgate_data_rows{dataset}                          rows compared
    mlgate_data_check_timestamp_seconds                when the check ran (freshness: time() - it)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mlgate.errors import GateInputError

HELP = {
    "mlgate_data_column_drift_statistic": "Statistic of the deciding drift test per column.",
    "mlgate_data_column_psi": "Population stability index of the column against the reference profile.",
    "mlgate_data_column_drifted": "1 when the column drifted.",
    "mlgate_data_column_null_rate": "Null rate of the column.",
    "mlgate_data_drift_share": "Share of the columns that drifted.",
    "mlgate_data_dataset_drift": "1 when the dataset drifted.",
    "mlgate_data_rows": "Rows compared.",
    "mlgate_data_check_timestamp_seconds": "Unix time of the drift check.",
}


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: object, *, file: Path, field: str) -> float:
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise GateInputError(
            f"{value!r} is not a finite number",
            file=file,
            field=field,
            fix="pass the JSON result of `mlgate drift`",
        )
    return float(value)


def samples(
    result: Mapping[str, Any], *, file: Path, timestamp: float
) -> Iterable[tuple[str, dict[str, str], float]]:
    """(metric, labels, value) for each series of a drift result."""
    data = result.get("data")
    if result.get("gate") not in ("drift", "drift-check") or not isinstance(data, Mapping):
        raise GateInputError(
            "is not the JSON result of `mlgate drift` or `mlgate drift-check`",
            file=file,
            field="gate",
            fix="pass the drift.json the drift check wrote (its --report-dir)",
        )
    columns = data.get("columns")
    if not isinstance(columns, list):
        raise GateInputError(
            "has no column results", file=file, field="data.columns", fix="re-run the drift check"
        )
    for index, column in enumerate(columns):
        where = f"data.columns[{index}]"
        if not isinstance(column, Mapping) or not isinstance(column.get("name"), str):
            raise GateInputError(
                "is not a column result", file=file, field=where, fix="re-run the drift check"
            )
        name = column["name"]
        yield (
            "mlgate_data_column_drift_statistic",
            {"column": name, "test": str(column.get("test", ""))},
            _number(column.get("statistic"), file=file, field=f"{where}.statistic"),
        )
        if column.get("psi") is not None:
            yield (
                "mlgate_data_column_psi",
                {"column": name},
                _number(column["psi"], file=file, field=f"{where}.psi"),
            )
        yield "mlgate_data_column_drifted", {"column": name}, float(bool(column.get("drifted")))
        for dataset in ("current", "reference"):
            rate = column.get(f"null_rate_{dataset}", 0.0)
            yield (
                "mlgate_data_column_null_rate",
                {"column": name, "dataset": dataset},
                _number(rate, file=file, field=f"{where}.null_rate_{dataset}"),
            )
    yield (
        "mlgate_data_drift_share",
        {},
        _number(data.get("drift_share", 0.0), file=file, field="data.drift_share"),
    )
    yield "mlgate_data_dataset_drift", {}, float(bool(data.get("dataset_drift")))
    for dataset in ("current", "reference"):
        rows = data.get(f"{dataset}_rows")
        if rows is not None:
            yield (
                "mlgate_data_rows",
                {"dataset": dataset},
                _number(rows, file=file, field=f"data.{dataset}_rows"),
            )
    yield "mlgate_data_check_timestamp_seconds", {}, timestamp


def render(series: Iterable[tuple[str, dict[str, str], float]]) -> str:
    """Prometheus text exposition format (version 0.0.4), every metric a gauge."""
    by_metric: dict[str, list[str]] = {}
    for metric, labels, value in series:
        text = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
        by_metric.setdefault(metric, []).append(
            f"{metric}{{{text}}} {value!r}" if text else f"{metric} {value!r}"
        )
    lines: list[str] = []
    for metric, rows in by_metric.items():
        lines += [f"# HELP {metric} {HELP[metric]}", f"# TYPE {metric} gauge", *rows]
    return "\n".join(lines) + "\n"


def convert(result_file: Path, output: Path) -> int:
    """Write `result_file`'s metrics to `output` (atomically: a scraper never reads half a file)."""
    try:
        result = json.loads(result_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateInputError("does not exist", file=result_file, fix="run `mlgate drift` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GateInputError(
            f"is not readable JSON ({exc})", file=result_file, fix="re-run the drift check"
        ) from None
    if not isinstance(result, Mapping):
        raise GateInputError(
            "is not a JSON object", file=result_file, fix="pass the drift check's drift.json"
        )
    series = list(samples(result, file=result_file, timestamp=result_file.stat().st_mtime or time.time()))
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(render(series), encoding="utf-8")
    tmp.replace(output)
    return len(series)
