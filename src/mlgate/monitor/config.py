"""The `monitor` section of mlgate.yaml: what the service logs of what it serves, and where.

Light imports only (pydantic): `mlgate config schema` and the service import this module.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mlgate.config import Section

SinkName = Literal["local", "s3"]
KpiName = Literal["precision", "recall", "false_positive_rate"]
LogFormat = Literal["jsonl", "parquet"]


class PredictionLogSettings(Section):
    """A sampled, bounded log of the requests the service answers and the scores it gave."""

    enabled: bool = Field(True, description="Write the prediction log.")
    sample_rate: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Share of successful predictions written (each one independently, at random).",
    )
    sink: SinkName = Field(
        "local",
        description="local: files under `directory`; s3: objects under s3://`bucket`/`prefix` (the data "
        "bucket; boto3, credentials and AWS_ENDPOINT_URL as the SDK reads them).",
    )
    directory: str = Field(
        ".mlgate/predictions",
        description="Local sink: the directory of the log files (with s3: where a file is written before "
        "it is uploaded).",
    )
    bucket: str = Field("", description="S3 sink: the bucket (no s3:// prefix).")
    prefix: str = Field("predictions/", description="S3 sink: the key prefix of the log objects.")
    format: LogFormat = Field(
        "jsonl", description="jsonl (one JSON object a line) or parquet (needs pyarrow in the service)."
    )
    rows_per_file: int = Field(
        1000, ge=1, le=1_000_000, description="A file is closed (rotated) after this many rows."
    )
    max_files: int = Field(
        50,
        ge=1,
        le=100_000,
        description="Closed files kept; the oldest are deleted beyond it (the log holds at most "
        "rows_per_file x (max_files + 1) rows).",
    )
    never_write: list[str] = Field(
        default_factory=list,
        description="Request fields never written, not even masked (e.g. card_number, email).",
    )
    mask: list[str] = Field(
        default_factory=list,
        description="Request fields written with their value replaced by `***` (present, never readable).",
    )
    id_field: str = Field(
        "transaction_id",
        description="The request field that identifies a request: ground-truth labels join on it.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PredictionLogSettings:
        if self.sink == "s3" and not self.bucket:
            raise ValueError("sink s3 needs bucket (the data bucket's name)")
        both = sorted(set(self.never_write) & set(self.mask))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both never_write and mask: keep it in never_write")
        if self.id_field in self.never_write or self.id_field in self.mask:
            raise ValueError(f"id_field {self.id_field} must be written as it is: labels join on it")
        return self


class LivePerformanceSettings(Section):
    """Live precision, recall and false positive rate per model version, from the prediction log joined with
    the ground-truth labels that arrive later (`mlgate live-performance`)."""

    labels: str = Field(
        "data/labels.csv",
        description="CSV (or JSON lines) of delayed ground truth: the prediction log's id_field and the "
        "label_column.",
    )
    label_column: str = Field("is_fraud", description="The label column (1/true: positive).")
    kpi: KpiName = Field(
        "false_positive_rate",
        description="The business KPI judged against its band (the others are reported).",
    )
    kpi_min: float | None = Field(None, ge=0, le=1, description="The KPI's band: lowest acceptable value.")
    kpi_max: float | None = Field(
        0.05, ge=0, le=1, description="The KPI's band: highest acceptable value (null: no ceiling)."
    )
    confidence: float = Field(0.95, gt=0.5, lt=1, description="Level of the Wilson score intervals.")
    min_labelled: int = Field(
        100,
        ge=1,
        description="Labelled predictions a version needs before its KPI is judged (else: too few).",
    )
    max_drop: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Live precision or recall whose interval lies entirely more than this below the eval "
        "gate's figure for the same version is reported as a regression.",
    )
    issue_label: str = Field(
        "model-performance",
        description="monitor.yml keeps one open issue with this label while the KPI is out.",
    )

    @model_validator(mode="after")
    def _band(self) -> LivePerformanceSettings:
        if self.kpi_min is None and self.kpi_max is None:
            raise ValueError("set kpi_min or kpi_max: the KPI's band")
        if self.kpi_min is not None and self.kpi_max is not None and self.kpi_min >= self.kpi_max:
            raise ValueError(f"kpi_min ({self.kpi_min:g}) must be below kpi_max ({self.kpi_max:g})")
        return self


class MonitorSection(Section):
    """What the service records of what it serves, and how it is judged once labels arrive."""

    prediction_log: PredictionLogSettings = Field(default_factory=PredictionLogSettings)  # type: ignore[arg-type]
    live: LivePerformanceSettings = Field(default_factory=LivePerformanceSettings)  # type: ignore[arg-type]
