"""The prediction log: a sampled, bounded record of what a service served, and reading it back.

The generated service calls `PredictionLog.from_config()` once at start-up and `record()` after each
successful prediction. Each call is sampled (`monitor.prediction_log.sample_rate`); a sampled row holds the
request's fields — minus `never_write`, with `mask` fields replaced by `***` — and the answer in columns of
its own: `_logged_at` (UTC ISO time), `_model_version`, `_score`, `_decision`.

Rows go to the open file (JSON lines appended as they come; Parquet buffered and written at rotation); after
`rows_per_file` rows it is closed and a new one opened, and only the newest `max_files` closed files are
kept: the log never holds more than rows_per_file x (max_files + 1) rows. With the `s3` sink a closed file is
uploaded to s3://bucket/prefix and deleted locally, and the oldest objects beyond max_files are deleted.
File names sort by time (`predictions-<UTC time>-<pid>-<n>.<ext>`), so several worker processes can share
one directory or prefix.

`read_rows()` reads the newest files back (the production sample of `mlgate prediction-log export` and the
joined sample of `mlgate live-performance`).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from mlgate.errors import GateInputError
from mlgate.monitor.config import MonitorSection, PredictionLogSettings

MASK = "***"
#: the columns the log adds to the request's fields
META_COLUMNS = ("_logged_at", "_model_version", "_score", "_decision")
SUFFIX = {"jsonl": ".jsonl", "parquet": ".parquet"}


def load_settings(config: Path) -> PredictionLogSettings:
    from mlgate.config import load_section

    return load_section(config, "monitor", MonitorSection).prediction_log


class PredictionLog:
    """Writes sampled rows to the configured sink; thread-safe (one lock around each write)."""

    def __init__(
        self,
        settings: PredictionLogSettings,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        s3_client: Any = None,
    ) -> None:
        if settings.format == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise GateInputError(
                    "format parquet needs pyarrow in the service's environment",
                    field="monitor.prediction_log.format",
                    fix="add pyarrow to the service's dependencies or use jsonl",
                ) from None
        self.settings = settings
        self.directory = Path(settings.directory)
        self.rng = rng or random.Random()  # noqa: S311 - sampling, not security
        self.clock = clock
        self._s3 = s3_client
        self._lock = threading.Lock()
        self._current: Path | None = None
        self._rows = 0
        self._buffer: list[dict[str, Any]] = []
        self._sequence = 0
        self._handle: TextIO | None = None
        self.written = 0

    @classmethod
    def from_config(cls, config: Path) -> PredictionLog | None:
        """The log the `monitor.prediction_log` section of `config` describes; None when disabled."""
        settings = load_settings(config)
        return cls(settings) if settings.enabled and settings.sample_rate > 0 else None

    # -- writing -----------------------------------------------------------------------------------------
    def row(
        self, request: Mapping[str, Any], *, score: float, decision: bool, model_version: str
    ) -> dict[str, Any]:
        """What is written for one request (never_write fields dropped, mask fields masked)."""
        never, masked = set(self.settings.never_write), set(self.settings.mask)
        row = {key: (MASK if key in masked else value) for key, value in request.items() if key not in never}
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds")
        row.update(_logged_at=stamp, _model_version=model_version, _score=score, _decision=bool(decision))
        return row

    def record(self, request: Mapping[str, Any], *, score: float, decision: bool, model_version: str) -> bool:
        """Sample this prediction; when sampled, write its row. Returns whether it was written."""
        if self.rng.random() >= self.settings.sample_rate:
            return False
        row = self.row(request, score=score, decision=decision, model_version=model_version)
        with self._lock:
            current = self._current or self._open()
            if self.settings.format == "jsonl":
                if self._handle is None:
                    self._handle = current.open("a", encoding="utf-8")
                self._handle.write(json.dumps(row, default=str) + "\n")
                self._handle.flush()  # a reader (or a crash) sees every row written so far
            else:
                self._buffer.append(row)
            self._rows += 1
            self.written += 1
            if self._rows >= self.settings.rows_per_file:
                self._rotate(current)
        return True

    def close(self) -> None:
        """Close the open file (written, uploaded with the s3 sink) — at shutdown."""
        with self._lock:
            if self._current is not None and self._rows:
                self._rotate(self._current)

    def _open(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"predictions-{stamp}-{os.getpid()}-{self._sequence:06d}{SUFFIX[self.settings.format]}"
        self._current = self.directory / name
        self._rows = 0
        self._buffer = []
        return self._current

    def _rotate(self, current: Path) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self.settings.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(self._buffer), current)
        self._current, self._rows, self._buffer = None, 0, []
        if self.settings.sink == "s3":
            client = self.s3()
            client.upload_file(str(current), self.settings.bucket, self.settings.prefix + current.name)
            current.unlink()
            keys = sorted(_s3_keys(client, self.settings))
            for key in keys[: max(0, len(keys) - self.settings.max_files)]:
                client.delete_object(Bucket=self.settings.bucket, Key=key)
        else:
            closed = sorted(
                p for p in _local_files(self.directory, self.settings.format) if p != self._current
            )
            for path in closed[: max(0, len(closed) - self.settings.max_files)]:
                path.unlink(missing_ok=True)

    def s3(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3


# -- reading -------------------------------------------------------------------------------------------
def _local_files(directory: Path, fmt: str) -> list[Path]:
    return sorted(directory.glob(f"predictions-*{SUFFIX[fmt]}")) if directory.is_dir() else []


def _s3_keys(client: Any, settings: PredictionLogSettings) -> Iterator[str]:
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.bucket, Prefix=settings.prefix):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            if key.rsplit("/", 1)[-1].startswith("predictions-") and key.endswith(SUFFIX[settings.format]):
                yield key


def parse(data: bytes, fmt: str, where: str) -> list[dict[str, Any]]:
    if fmt == "parquet":
        import io

        import pyarrow.parquet as pq

        try:
            rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(data)).to_pylist()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
            raise GateInputError(f"is not a readable Parquet file ({exc})", file=where) from None
        return rows
    rows = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            if number == len(data.splitlines()):
                continue  # the open file's last line may be half written
            raise GateInputError(
                "is not JSON lines", file=where, line=number, fix="delete the damaged file"
            ) from None
        if isinstance(value, dict):
            rows.append(value)
    return rows


def read_rows(
    settings: PredictionLogSettings, *, max_rows: int | None = None, s3_client: Any = None
) -> list[dict[str, Any]]:
    """The rows of the newest log files (newest last), at most `max_rows` (the newest ones)."""
    chunks: list[list[dict[str, Any]]] = []
    total = 0
    sources: list[tuple[str, Callable[[], bytes]]]
    if settings.sink == "s3":
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        client = s3_client

        def getter(key: str) -> Callable[[], bytes]:
            return lambda: bytes(client.get_object(Bucket=settings.bucket, Key=key)["Body"].read())

        sources = [
            (f"s3://{settings.bucket}/{key}", getter(key)) for key in sorted(_s3_keys(client, settings))
        ]
    else:
        sources = [
            (str(path), path.read_bytes) for path in _local_files(Path(settings.directory), settings.format)
        ]
    for where, read in reversed(sources):
        rows = parse(read(), settings.format, where)
        chunks.append(rows)
        total += len(rows)
        if max_rows is not None and total >= max_rows:
            break
    rows = [row for chunk in reversed(chunks) for row in chunk]
    return rows[-max_rows:] if max_rows is not None else rows
