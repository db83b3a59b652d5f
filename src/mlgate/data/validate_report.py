"""The validate-data report: each expectation's row (pass/fail, observed value, a few offending rows),
sensitive values masked, and the gate's result built from GX's validation results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgate.gate import GateResult

MASK = "•••"
#: result fields that hold values taken from the data
VALUE_FIELDS = ("partial_unexpected_list", "unexpected_list")
INDEX_FIELDS = ("partial_unexpected_index_list", "unexpected_index_list")
TYPE_ONLY = ("expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list")


def _column_of(config: dict[str, Any]) -> str | None:
    column = config.get("kwargs", {}).get("column")
    return column if isinstance(column, str) else None


def mask_result(result: dict[str, Any], config: dict[str, Any], sensitive: set[str]) -> dict[str, Any]:
    """A copy of one expectation's `result` with values of sensitive columns replaced by MASK."""
    out = dict(result)
    column = _column_of(config)
    if column in sensitive:
        for key in VALUE_FIELDS:
            if key in out:
                out[key] = [MASK for _ in out[key]]
        if "partial_unexpected_counts" in out:
            out["partial_unexpected_counts"] = [
                {**c, "value": MASK} for c in out["partial_unexpected_counts"]
            ]
        if "observed_value" in out and config.get("type") not in TYPE_ONLY:
            out["observed_value"] = MASK
        if "details" in out:
            out["details"] = MASK
    for key in INDEX_FIELDS:
        if isinstance(out.get(key), list):
            out[key] = [
                {k: (MASK if k in sensitive else v) for k, v in row.items()} if isinstance(row, dict) else row
                for row in out[key]
            ]
    return out


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mismatched_columns(result: dict[str, Any]) -> str:
    """The columns a table-columns expectation found wrong, named (GX's `details.mismatched`): an extra
    column is named even when the full column list would be cut in the table."""
    details = result.get("details")
    mismatched = details.get("mismatched") if isinstance(details, dict) else None
    if isinstance(mismatched, dict):
        parts = [
            f"{label}: " + ", ".join(f"`{_short(c, 40)}`" for c in mismatched.get(key) or [])
            for key, label in (("unexpected", "extra columns"), ("missing", "missing columns"))
            if mismatched.get(key)
        ]
        return "; ".join(parts)
    if isinstance(mismatched, list):
        parts = [
            f"position {m.get('Expected Column Position')}: expected `{_short(m.get('Expected'), 30)}`, "
            f"found `{_short(m.get('Found'), 30)}`"
            for m in mismatched[:5]
            if isinstance(m, dict)
        ]
        return "; ".join(parts) + (" …" if len(mismatched) > 5 else "")
    return ""


def describe(item: dict[str, Any], rows: int) -> dict[str, Any]:
    """One expectation's row of the report (already masked)."""
    config = item.get("expectation_config", {})
    result = item.get("result") or {}
    kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
    exception = item.get("exception_info") or {}
    observed: str
    if exception.get("raised_exception"):
        observed = "error: " + str(exception.get("exception_message") or "")[:150]
    elif _mismatched_columns(result):
        observed = _mismatched_columns(result)
    elif "observed_value" in result:
        value = result["observed_value"]
        observed = f"{value:.6g}" if isinstance(value, float) else _short(value)
    elif "unexpected_count" in result:
        observed = (
            f"{result['unexpected_count']:,} unexpected ({result.get('unexpected_percent') or 0:.2f} %)"
        )
    else:
        observed = ""
    samples: list[str] = []
    index_rows = result.get("partial_unexpected_index_list") or result.get("unexpected_index_list")
    if isinstance(index_rows, list) and index_rows and isinstance(index_rows[0], dict):
        first = [str(c) for c in result.get("unexpected_index_column_names") or []]
        samples = [
            ", ".join(
                f"{k}={_short(row[k], 24)}" for k in [*first, *(k for k in row if k not in first)] if k in row
            )
            for row in index_rows[:rows]
        ]
    elif result.get("partial_unexpected_list"):
        samples = [_short(v, 24) for v in result["partial_unexpected_list"][:rows]]
    return {
        "type": config.get("type", ""),
        "column": _column_of(config),
        "kwargs": kwargs,
        "success": bool(item.get("success")),
        "observed": observed,
        "unexpected_count": result.get("unexpected_count"),
        "samples": samples,
    }


def _expectation_label(row: dict[str, Any]) -> str:
    shown = {k: v for k, v in row["kwargs"].items() if k not in ("column", "result_format")}
    args = ", ".join(f"{k}={_short(v, 40)}" for k, v in shown.items())
    name = row["type"].removeprefix("expect_")
    return f"`{name}`" + (f" ({args})" if args else "")


def build_result(
    runs: list[dict[str, Any]],
    *,
    data: Path,
    engine: str,
    rows: int,
    sensitive: set[str],
    docs: str,
    checkpoint: str,
    seconds: float,
    unchecked: list[str] | None = None,
) -> GateResult:
    """The gate's result; `unchecked` names the dataset's columns no expectation mentions (listed in
    the report, so an extra column is never silent)."""
    table_rows: list[dict[str, Any]] = []
    for run in runs:
        for item in run.get("results", []):
            config = item.get("expectation_config", {})
            masked = {**item, "result": mask_result(item.get("result") or {}, config, sensitive)}
            table_rows.append({"suite": run.get("suite_name", ""), **describe(masked, rows)})
    failed = [r for r in table_rows if not r["success"]]
    passed = not failed
    icon = "✅" if passed else "❌"
    headline = (
        f"all {len(table_rows)} expectations met"
        if passed
        else f"{len(failed)} of {len(table_rows)} expectations failed"
    )
    summary = [
        f"### {icon} mlgate validate-data: {headline}",
        "",
        f"`{data}` against checkpoint `{checkpoint}` ({engine} engine, {seconds:.2f} s validation)."
        + (f" Values of {', '.join(f'`{c}`' for c in sorted(sensitive))} are masked." if sensitive else ""),
    ]
    if failed:
        summary += [
            "",
            "Failed: "
            + ", ".join(
                f"`{r['type'].removeprefix('expect_')}`" + (f" on `{r['column']}`" if r["column"] else "")
                for r in failed
            ),
        ]
    lines = ["| | column | expectation | observed | offending rows |", "|---|---|---|---|---|"]
    for r in sorted(table_rows, key=lambda r: r["success"]):
        column = f"`{r['column']}`" if r["column"] else "(table)"
        samples = "<br>".join(r["samples"]) if not r["success"] else ""
        icon = "✅" if r["success"] else "❌"
        lines.append(f"| {icon} | {column} | {_expectation_label(r)} | {r['observed']} | {samples} |")
    details = ["#### Expectations", "", *lines]
    if unchecked:
        details += [
            "",
            "Columns no expectation names (not checked beyond table-level expectations): "
            + ", ".join(f"`{_short(c, 40)}`" for c in unchecked),
        ]
    if docs:
        details += ["", f"Data Docs: `{docs}` (uploaded as the run's `data-docs` artifact in CI)."]
    failed_types = ",".join(sorted({r["type"] for r in failed}))
    return GateResult(
        gate="validate-data",
        passed=passed,
        failure_reason="" if passed else "contract-violated",
        summary_md="\n".join(summary),
        details_md="\n".join(details),
        data={
            "dataset": str(data),
            "engine": engine,
            "checkpoint": checkpoint,
            "expectations": table_rows,
            "failed": len(failed),
            "unchecked_columns": list(unchecked or []),
            "validation_seconds": seconds,
            "data_docs": docs,
        },
        outputs={
            "failed-expectations": str(len(failed)),
            "failed-expectation-types": failed_types,
            "data-docs-path": docs,
        },
    )
