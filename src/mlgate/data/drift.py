"""`mlgate drift`: compare new data with a stored reference profile, without re-reading the reference.

Inputs: `--data` (CSV or Parquet, streamed in chunks), `--profile` (from `mlgate profile`; default
`drift.profile` in mlgate.yaml), optional `--reference` (the reference data itself: KS becomes exact),
`--config` (mlgate.yaml section `drift`).
Outputs: `passed`, `failure-reason`, `dataset-drift`, `drift-share`, `drifted-columns`, `result-path`,
`report-path`; exit 0 (no drift) or 1.

Statistics per column (standard definitions in `mlgate.data.statistics`, checked against scipy):

- PSI = Σ (q - p) · ln(q / p) over the reference's bins (numeric: bins at the reference's quantiles;
  categorical: the stored categories plus one bucket for all others), every share floored at 0.0001
  (an empty bin included; see `mlgate.data.statistics.psi`). Drift when PSI ≥ `psi_threshold` (0.1).
- KS two-sample: exact through `scipy.stats.ks_2samp` when the reference data is at hand (`--reference`,
  or a profile small enough to hold every value); otherwise D is computed from the profile's ECDF
  sketch against the exact counts of the new data, within ± `error_bound / 2` of the exact D, and the
  p-value uses scipy's asymptotic distribution (`kstwo.sf(D, round(n·m / (n + m)))`, as `ks_2samp` does
  for large samples). Drift when p ≤ `ks_p_value` (0.05).
- chi-square goodness of fit of the new category counts against the reference frequencies
  (`scipy.stats.chisquare`). Drift when p ≤ `chi2_p_value` (0.05).

A column drifts when its deciding test (`numeric_test`: psi | ks, `categorical_test`: psi | chi2) says
so, or when its null rate rises by more than `max_null_rate_increase`. The dataset drifts when the
share of drifted columns is at least `dataset_drift_share` (0.5).

Below a test's minimum sample (see `mlgate.data.statistics`), or when a sketch's error bound allows both
answers, a column is *inconclusive*: not drift, not a pass. Drift wins; else an inconclusive column fails
the gate (`inconclusive`) unless `drift.inconclusive: warn`. Infinities are refused (`infinite-value`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlgate.data.config import DriftSection, engine_option
from mlgate.data.dataset import dataset_path
from mlgate.data.drift_report import render
from mlgate.data.profile_format import load_profile
from mlgate.gate import (
    COMMON_FAILURE_REASONS,
    GateResult,
    comment_option,
    config_option,
    finish,
    path_option,
    report_dir_option,
    run_gate,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
from mlgate.data.drift_core import compare

#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    **COMMON_FAILURE_REASONS,
    "data-drift": "the data drifted (or, with `drift.fail_on: column`, any column drifted)",
    "inconclusive": (
        "nothing drifted, but a column has too few rows for its test to judge "
        "(`drift.inconclusive: warn` makes this a warning)"
    ),
    "missing-file": "the data or the profile does not exist",
    "empty-data": "the data is empty or has no rows",
    "unreadable-data": (
        'not UTF-8 (UTF-16, Latin-1), binary, a Parquet file named `.csv` ("looks like Parquet"), '
        "not a parseable CSV, a damaged Parquet file, a directory, or an unsupported file type"
    ),
    "schema-mismatch": (
        "a profiled column is missing, a column is not in the profile, a column's type changed, a column "
        "name appears twice, or the header is one column of a `;`-, pipe- or tab-delimited file"
    ),
    "all-null-column": "a profiled column holds only nulls in the data",
    "infinite-value": "a numeric column holds `inf` or `-inf` (refused: use null)",
    "invalid-profile": (
        "the profile is not valid JSON, not an mlgate profile, or damaged (the field is named)"
    ),
    "unknown-profile-version": "the profile's schema version is not one this mlgate reads: rebuild it",
    "engine-unavailable": (
        "`engine: spark` was asked for but pyspark or Java is missing, or Spark cannot start on "
        "`spark_master`"
    ),
    "engine-error": "a Spark job of the spark engine failed (its first line is shown)",
    "baseline-change-unapproved": (
        "the pull request changes the reference profile (the drift baseline) without the approval label "
        "(`drift.baseline_approval_label`)"
    ),
}


def drift_gate(
    data: Path, profile_path: Path, settings: DriftSection, *, reference: Path | None = None
) -> GateResult:
    profile = load_profile(profile_path)
    if settings.engine == "spark":
        from mlgate.data.spark_engine import compare as compare_with_spark

        report = compare_with_spark(profile, data, settings, reference=reference)
    else:
        report = compare(profile, data, settings, reference=reference, profile_path=profile_path)
    summary, details = render(report, data=data, profile_path=profile_path)
    failed = report.dataset_drift if settings.fail_on == "dataset" else bool(report.drifted)
    reason = "data-drift" if failed else ""
    if not failed and report.inconclusive and settings.inconclusive == "fail":
        failed, reason = True, "inconclusive"
    return GateResult(
        gate="drift",
        passed=not failed,
        failure_reason=reason,
        summary_md=summary,
        details_md=details,
        data={
            "dataset_drift": report.dataset_drift,
            "drift_share": report.share,
            "drifted_columns": report.drifted,
            "inconclusive_columns": report.inconclusive,
            "reference_rows": report.reference_rows,
            "current_rows": report.current_rows,
            "columns": [c.to_json() for c in report.columns],
            "skipped": report.skipped,
            "thresholds": settings.model_dump(),
        },
        outputs={
            "dataset-drift": "true" if report.dataset_drift else "false",
            "drift-share": f"{report.share:.4f}",
            "drifted-columns": ",".join(report.drifted),
            "inconclusive-columns": ",".join(report.inconclusive),
        },
    )


@click.command("drift")
@path_option(
    "--data",
    "data",
    help="New data to check (CSV or Parquet) [default: data.dataset in mlgate.yaml].",
)
@path_option("--profile", "profile_path", help="Reference profile [default: drift.profile in mlgate.yaml].")
@path_option("--reference", help="The reference data itself (optional): makes KS exact.")
@path_option(
    "--proposed-profile",
    help="The pull request's own profile when --profile is the base branch's: a difference is a baseline "
    "change, which fails unless the pull request has the `drift.baseline_approval_label` label.",
)
@config_option("drift")
@engine_option
@report_dir_option(help="Where the JSON result and report go.")
@comment_option(False, help="Upsert the report as a PR comment.")
def command(
    *,
    engine: str | None,
    data: Path | None,
    profile_path: Path | None,
    reference: Path | None,
    proposed_profile: Path | None,
    config_path: Path,
    report_dir: Path,
    comment: bool,
) -> int:
    """Compare new data with the reference profile (PSI, KS, chi-square); fail on drift."""

    def work() -> int:
        from mlgate.config import load_section
        from mlgate.data.drift_baseline import baseline_change, with_baseline_change
        from mlgate.github import Runner

        settings = load_section(config_path, "drift", DriftSection)
        if engine is not None:
            settings = settings.model_copy(update={"engine": engine})
        path = dataset_path(data, config_path)
        profile = profile_path or Path(settings.profile)
        change = None
        if proposed_profile is not None:
            labels = Runner.from_env().pr_labels()
            change = baseline_change(profile, proposed_profile, labels, settings.baseline_approval_label)
            profile = change.judged_against
        result = drift_gate(path, profile, settings, reference=reference)
        if change is not None:
            result = with_baseline_change(result, change)
        return finish(result, report_dir=report_dir, comment_key=str(path) if comment else None)

    return run_gate("drift", work)
