"""`mlgate profile`: a versioned JSON reference profile of trusted data, built once, read by `mlgate drift`.

Inputs: `--data` (CSV or Parquet), `--output` (the profile JSON), `--config` (mlgate.yaml, section `drift`
for bins / sketch size / excluded columns), `--chunk-rows`.
Outputs: `profile-path`, `rows`, `columns`; exit 0, or 1 with a `failure-reason` from `FAILURE_REASONS`.

The data is streamed in chunks, so a dataset larger than memory is profiled in bounded memory (a second
pass fills the PSI histograms when there is more than one chunk). Per column the profile keeps

- numeric: dtype, count, null rate, min / max, mean / std, quantiles, PSI histogram (bin edges at the
  reference quantiles, open-ended outer bins, counts) and an ECDF sketch for KS;
- categorical: dtype, count, null rate, distinct count and the frequencies of the most frequent values
  (the rest pooled as `other_count`).

The ECDF sketch keeps `sketch_size` points `(value, weight)` chosen at evenly spaced ranks. Its empirical
CDF `F̂(x) = Σ weight[value ≤ x] / count` never exceeds the true CDF and falls short of it by less than
`error_bound` (`1/sketch_size` for data read in one chunk, `2/sketch_size` after merging chunks, 0 when
every value is kept), so a KS statistic computed from it is within `error_bound / 2` of the exact one
(`mlgate.data.sketch`). Sketch values and bin edges are stored at full precision: an exact sketch holds the
data's own values. Infinite values are refused (`infinite-value`); integers beyond 2**53 are read as the
nearest float64. The profile is written atomically, and `load_profile` validates every field
(`mlgate.data.profile_format`). Column values are read as `mlgate.data.statistics` reads them for drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlgate.data.config import ProfileSettings, engine_option
from mlgate.data.profile_format import SCHEMA_VERSION, check_output, write_profile
from mlgate.gate import (
    COMMON_FAILURE_REASONS,
    GateInputError,
    GateResult,
    config_option,
    finish,
    output_problem,
    path_option,
    report_dir_option,
    run_gate,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]
from mlgate.data.profile_core import build_profile

#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    **COMMON_FAILURE_REASONS,
    "missing-file": "the dataset to profile does not exist (not pulled?)",
    "empty-data": "the dataset is an empty file or has no rows",
    "unreadable-data": (
        "not UTF-8, binary, a Parquet file named `.csv`, not a parseable CSV, a damaged Parquet file, "
        "or an unsupported file type"
    ),
    "schema-mismatch": (
        "a column to profile is missing, a column name is repeated, or the header is one column of a "
        "`;`-, pipe- or tab-delimited file"
    ),
    "all-null-column": "a profiled column holds only nulls",
    "infinite-value": "a numeric column holds `inf` or `-inf` (refused: use null)",
    "engine-unavailable": (
        "`engine: spark` was asked for but pyspark or Java is missing, or Spark cannot start on "
        "`spark_master`"
    ),
    "engine-error": "a Spark job of the spark engine failed (its first line is shown)",
}


def profile_gate(data: Path, output: Path, settings: ProfileSettings) -> GateResult:
    check_output(output)
    if settings.engine == "spark":
        from mlgate.data.spark_engine import build_profile as build_with_spark

        profile = build_with_spark(data, settings)
    else:
        profile = build_profile(data, settings)
    try:
        write_profile(profile, output)
    except OSError as exc:
        raise GateInputError(
            f"cannot write the profile ({exc.strerror or type(exc).__name__})",
            file=output,
            field="--output",
            fix="check the directory exists and is writable",
        ) from None
    cols = profile["columns"]
    profiled = [n for n, c in cols.items() if c["kind"] != "skipped"]
    lines = [
        f"### ✅ mlgate profile: {len(profiled)} columns of {profile['source']['rows']:,} rows",
        "",
        f"Profile written to `{output}` (schema version {SCHEMA_VERSION}"
        + (f", spark engine on `{settings.spark_master}`)." if settings.engine == "spark" else ")."),
        "",
        "| column | kind | null rate | min | max | mean | distinct |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, col in cols.items():
        if col["kind"] == "numeric":
            lines.append(
                f"| `{name}` | numeric | {col['null_rate']:.2%} | {col['min']:.4g} | {col['max']:.4g} "
                f"| {col['mean']:.4g} | |"
            )
        elif col["kind"] == "categorical":
            lines.append(
                f"| `{name}` | categorical | {col['null_rate']:.2%} | | | | {col['distinct_at_least']:,} |"
            )
        else:
            lines.append(f"| `{name}` | skipped ({col['reason']}) | | | | | |")
    return GateResult(
        gate="profile",
        passed=True,
        summary_md="\n".join(lines),
        data={"profile_path": str(output), "rows": profile["source"]["rows"], "columns": profiled},
        outputs={
            "profile-path": str(output),
            "rows": str(profile["source"]["rows"]),
            "columns": str(len(profiled)),
        },
    )


@click.command("profile")
@path_option("--data", "data", required=True, help="Trusted reference data (CSV or Parquet).")
@path_option("--output", output="file", help="Profile JSON to write [default: drift.profile in mlgate.yaml].")
@config_option("drift")
@click.option(
    "--chunk-rows",
    type=int,
    default=None,
    envvar="MLGATE_CHUNK_ROWS",
    help="Rows read per chunk [default: drift.chunk_rows].",
)
@engine_option
@report_dir_option(help="Where the JSON result and report go.")
def command(
    *,
    data: Path,
    output: Path | None,
    config_path: Path,
    chunk_rows: int | None,
    engine: str | None,
    report_dir: Path,
) -> int:
    """Build a reference profile (versioned JSON) of trusted data, streaming it in chunks."""

    def work() -> int:
        from mlgate.config import load_section
        from mlgate.data.config import DriftSection

        if chunk_rows is not None and chunk_rows < 1:
            raise GateInputError(
                f"must be a positive number of rows, not {chunk_rows}",
                field="--chunk-rows",
                fix="give a positive integer, or leave it out to use `drift.chunk_rows`",
            )
        section = load_section(config_path, "drift", DriftSection)
        settings = section.profile_settings(chunk_rows, engine)
        target = output or Path(section.profile)
        if problem := output_problem(target, "file"):  # drift.profile in mlgate.yaml: checked up front too
            raise GateInputError(problem, file=target, field="--output" if output else "drift.profile")
        return finish(profile_gate(data, target, settings), report_dir=report_dir)

    return run_gate("profile", work)
