"""The data gates' sections of mlgate.yaml: `data:` (the dataset and the GX checkpoint of `mlgate
validate-data`) and `drift:` (the reference profile and the thresholds of `mlgate profile`, `mlgate drift`
and `mlgate drift-check`), with the profile settings `drift:` gives the profile builder.

Light imports only (pydantic): `mlgate config` reads these without importing any gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import click
from pydantic import Field

from mlgate.config import Section

#: default rows per chunk: about 8 MB per numeric column, small next to any runner's memory
DEFAULT_CHUNK_ROWS = 1_000_000


class DataSection(Section):
    """`data:` in mlgate.yaml — the dataset, the GX checkpoint that guards it, and how to run it."""

    dataset: str = Field(
        "data/processed/transactions.csv", description="Dataset to validate (CSV or Parquet)."
    )
    gx_root: str = Field(".", description="Directory that holds GX's `gx/` folder.")
    checkpoint: str = Field("data-contract", description="GX checkpoint to run (gx/checkpoints/<name>.json).")
    engine: Literal["pandas", "spark"] = Field("pandas", description="Execution engine.")
    spark_master: str = Field("local[2]", description="Spark master URL for the spark engine.")
    sensitive_columns: list[str] = Field(
        default_factory=list, description="Columns whose values never appear in reports or Data Docs."
    )
    unexpected_rows: int = Field(3, ge=0, le=50, description="Offending rows shown per expectation.")
    max_memory_mb: int | None = Field(
        None, ge=1, description="Memory the pandas engine may use [default: 70 % of available memory]."
    )


@dataclass(frozen=True)
class ProfileSettings:
    """What the profile builder keeps per column (from `drift:`; `DriftSection.profile_settings`)."""

    bins: int = 10
    sketch_size: int = 5000
    top_categories: int = 50
    exclude: tuple[str, ...] = ()
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    engine: str = "arrow"
    spark_master: str = "local[2]"


class DriftSection(Section):
    """`drift:` in mlgate.yaml — the reference profile, how it is built, and when data counts as drifted."""

    profile: str = Field(
        "data/reference_profile.json", description="Reference profile JSON (mlgate profile)."
    )
    psi_threshold: float = Field(0.1, gt=0, description="A column drifts when PSI ≥ this.")
    ks_p_value: float = Field(0.05, gt=0, lt=1, description="A column drifts when the KS p-value ≤ this.")
    chi2_p_value: float = Field(0.05, gt=0, lt=1, description="A column drifts when the chi-square p ≤ this.")
    numeric_test: Literal["psi", "ks"] = Field("psi", description="Test that decides for numeric columns.")
    categorical_test: Literal["psi", "chi2"] = Field("psi", description="Test that decides for categoricals.")
    max_null_rate_increase: float = Field(
        0.1, ge=0, le=1, description="A column drifts when its null rate rises by more than this (absolute)."
    )
    dataset_drift_share: float = Field(
        0.5, gt=0, le=1, description="The dataset drifts when at least this share of columns drift."
    )
    fail_on: Literal["dataset", "column"] = Field(
        "dataset", description="Fail the gate on dataset drift, or on any drifted column."
    )
    inconclusive: Literal["fail", "warn"] = Field(
        "fail",
        description="When a column has too few rows for its test to judge (and nothing drifted): fail "
        "the gate (`inconclusive`), or pass with a warning.",
    )
    bins: int = Field(10, ge=2, le=1000, description="PSI bins for numeric columns (at reference quantiles).")
    sketch_size: int = Field(
        5000,
        ge=10,
        le=1_000_000,
        description="ECDF sketch points per numeric column (KS error ≤ 1/sketch_size).",
    )
    top_categories: int = Field(50, ge=1, description="Categories kept per categorical column.")
    exclude: list[str] = Field(default_factory=list, description="Columns left out of profile and drift.")
    chunk_rows: int = Field(DEFAULT_CHUNK_ROWS, ge=1000, description="Rows read per chunk.")
    engine: Literal["arrow", "spark"] = Field(
        "arrow",
        description="Engine of `mlgate profile` and `mlgate drift`: `arrow` streams the data in this "
        "process; `spark` runs Spark jobs (pyspark and Java 17+) with the same profiles and decisions.",
    )
    spark_master: str = Field(
        "local[2]", min_length=1, description="Spark master URL for the spark engine (`spark://…`, `yarn`)."
    )
    issue_label: str = Field("data-drift", description="Label of the issue drift-check opens per episode.")
    baseline_approval_label: str = Field(
        "approve-baseline-change",
        min_length=1,
        description="Pull-request label approving a change of the reference profile (--proposed-profile).",
    )

    def profile_settings(self, chunk_rows: int | None = None, engine: str | None = None) -> ProfileSettings:
        return ProfileSettings(
            engine=engine or self.engine,
            spark_master=self.spark_master,
            bins=self.bins,
            sketch_size=self.sketch_size,
            top_categories=self.top_categories,
            exclude=tuple(self.exclude),
            chunk_rows=chunk_rows or self.chunk_rows,
        )


#: `--engine` of `mlgate profile` and `mlgate drift`: overrides `drift.engine`
engine_option = click.option(
    "--engine",
    type=click.Choice(["arrow", "spark"]),
    default=None,
    help="Engine [default: drift.engine]: arrow (this process) or spark (drift.spark_master).",
)
