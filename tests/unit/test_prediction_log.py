"""The prediction log (`mlgate.monitor.prediction_log`) and its export (`mlgate prediction-log export`).

Sensitive fields never reach a file (checked on the bytes written, JSON lines and Parquet); masked fields
are present but unreadable; the sampling rate is honoured (a binomial bound on thousands of draws, for
three rates); the log is bounded (files rotate after rows_per_file rows and only max_files closed files
stay, on disk and in the bucket); the s3 sink runs against moto's server (real HTTP, real boto3); the
export says when there is no served sample, so monitor.yml falls back to simulation.
"""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mlgate.cli import main
from mlgate.errors import GateInputError
from mlgate.monitor.config import PredictionLogSettings
from mlgate.monitor.prediction_log import MASK, PredictionLog, read_rows
from tests.support.bad_inputs import read_outputs
from tests.support.canary_stack import free_port

MOTO = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
SECRET = "4111111111111111"
REQUEST = {"transaction_id": "t-1", "amount": 12.5, "card_number": SECRET, "email": "a@b.example"}


def settings(tmp_path: Path, **overrides: Any) -> PredictionLogSettings:
    values: dict[str, Any] = {
        "directory": str(tmp_path / "log"),
        "sample_rate": 1.0,
        "never_write": ["card_number"],
        "mask": ["email"],
    }
    values.update(overrides)
    return PredictionLogSettings.model_validate(values)


def fill(log: PredictionLog, count: int) -> int:
    return sum(
        log.record({**REQUEST, "transaction_id": f"t-{i}"}, score=0.3, decision=True, model_version="7")
        for i in range(count)
    )


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_sensitive_fields_never_reach_a_file(tmp_path: Path, fmt: str) -> None:
    log = PredictionLog(settings(tmp_path, format=fmt, rows_per_file=7))
    assert fill(log, 20) == 20
    log.close()
    files = list((tmp_path / "log").iterdir())
    assert files
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data and b"card_number" not in data
        assert b"a@b.example" not in data
    rows = read_rows(log.settings)
    assert len(rows) == 20
    assert all("card_number" not in row and row["email"] == MASK for row in rows)
    assert rows[0]["transaction_id"] == "t-0" and rows[-1]["transaction_id"] == "t-19"
    assert rows[0]["_score"] == 0.3 and rows[0]["_decision"] is True and rows[0]["_model_version"] == "7"


def binomial_bounds(n: int, p: float, z: float = 5.0) -> tuple[float, float]:
    sd = math.sqrt(n * p * (1 - p))
    return n * p - z * sd, n * p + z * sd


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_the_sampling_rate_is_honoured(tmp_path: Path, rate: float) -> None:
    n = 4000
    log = PredictionLog(settings(tmp_path, sample_rate=rate, rows_per_file=100_000), rng=random.Random(11))  # noqa: S311
    written = fill(log, n)
    low, high = binomial_bounds(n, rate)
    assert low <= written <= high, (written, low, high)
    assert len(read_rows(log.settings)) == written
    # another rate would not pass the same bound: the check discriminates
    assert not binomial_bounds(n, rate * 1.5)[0] <= written <= binomial_bounds(n, rate * 1.5)[1]


def test_rate_zero_writes_nothing_and_rate_one_everything(tmp_path: Path) -> None:
    assert fill(PredictionLog(settings(tmp_path / "a", sample_rate=0.0)), 500) == 0
    assert fill(PredictionLog(settings(tmp_path / "b", sample_rate=1.0)), 500) == 500


def test_the_log_is_bounded_and_keeps_the_newest_rows(tmp_path: Path) -> None:
    ticks = iter(range(10**6))
    log = PredictionLog(settings(tmp_path, rows_per_file=10, max_files=3), clock=lambda: 1.7e9 + next(ticks))
    fill(log, 205)
    files = sorted((tmp_path / "log").iterdir())
    assert len(files) == 4  # three closed files and the open one
    rows = read_rows(log.settings)
    assert len(rows) <= 10 * (3 + 1)
    assert [row["transaction_id"] for row in rows] == [f"t-{i}" for i in range(170, 205)]
    assert [row["transaction_id"] for row in read_rows(log.settings, max_rows=5)] == [
        f"t-{i}" for i in range(200, 205)
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sink": "s3"}, "sink s3 needs bucket"),
        ({"never_write": ["email"], "mask": ["email"]}, "cannot be both never_write and mask"),
        ({"mask": ["transaction_id"]}, "labels join on it"),
        ({"sample_rate": 1.5}, "less than or equal to 1"),
    ],
)
def test_bad_settings_are_one_line_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: dict[str, Any], message: str
) -> None:
    config = tmp_path / "mlgate.yaml"
    config.write_text(yaml.safe_dump({"monitor": {"prediction_log": overrides}}), encoding="utf-8")
    assert main(["config", "check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "monitor.prediction_log" in err and message in err and "Traceback" not in err


def test_a_damaged_log_file_is_bad_input(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "predictions-1.jsonl").write_text('{"a": 1}\nnot json\n{"a": 2}\n', encoding="utf-8")
    with pytest.raises(GateInputError, match="is not JSON lines"):
        read_rows(settings(tmp_path))


# -- export --------------------------------------------------------------------------------------------
def export(tmp_path: Path, section: dict[str, Any], *args: str) -> tuple[int, dict[str, str]]:
    config = tmp_path / "mlgate.yaml"
    config.write_text(yaml.safe_dump({"monitor": {"prediction_log": section}}), encoding="utf-8")
    out = tmp_path / "gh-output"
    out.write_text("", encoding="utf-8")
    code = main(["prediction-log", "export", "--config", str(config), *args])
    return code, read_outputs(out)


@pytest.fixture
def in_actions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "gh-output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))


def test_export_writes_the_served_requests(tmp_path: Path, in_actions: None) -> None:
    log = PredictionLog(settings(tmp_path))
    fill(log, 300)
    sample = tmp_path / "sample.csv"
    section = log.settings.model_dump()
    code, outputs = export(tmp_path, section, "--output", str(sample))
    assert code == 0 and outputs["found"] == "true" and outputs["rows"] == "300"
    header = sample.read_text(encoding="utf-8").splitlines()[0]
    assert header == "transaction_id,amount,email"  # no card_number, no _score: the requests as served


def test_too_few_rows_is_no_served_sample(tmp_path: Path, in_actions: None) -> None:
    log = PredictionLog(settings(tmp_path))
    fill(log, 50)
    sample = tmp_path / "sample.csv"
    code, outputs = export(tmp_path, log.settings.model_dump(), "--output", str(sample))
    assert code == 0 and outputs["found"] == "false" and "50 served row(s)" in outputs["reason"]
    assert not sample.exists()
    code, outputs = export(tmp_path, {"directory": str(tmp_path / "none")}, "--output", str(sample))
    assert outputs["found"] == "false" and "0 served row(s)" in outputs["reason"]


# -- the s3 sink against moto's server -----------------------------------------------------------------
@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not Path(MOTO).exists():
        pytest.skip("needs moto[server] (dev group)")
    port = free_port()
    proc = subprocess.Popen(
        [MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for name, value in {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        import boto3

        client = boto3.client("s3")
        client.create_bucket(Bucket="fraud-data")
        yield client
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_the_s3_sink_uploads_bounded_objects_without_sensitive_fields(
    tmp_path: Path, s3: Any, in_actions: None
) -> None:
    ticks = iter(range(10**6))
    log = PredictionLog(
        settings(tmp_path, sink="s3", bucket="fraud-data", rows_per_file=50, max_files=4),
        clock=lambda: 1.7e9 + next(ticks),
    )
    fill(log, 420)
    log.close()
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket="fraud-data")["Contents"])
    assert len(keys) == 4 and all(key.startswith("predictions/predictions-") for key in keys)
    for key in keys:
        body = s3.get_object(Bucket="fraud-data", Key=key)["Body"].read()
        assert SECRET.encode() not in body and b"a@b.example" not in body
    assert not list((tmp_path / "log").glob("*.jsonl"))  # uploaded, then deleted locally
    rows = read_rows(log.settings)
    assert [row["transaction_id"] for row in rows] == [f"t-{i}" for i in range(250, 420)]
    sample = tmp_path / "sample.csv"
    code, outputs = export(tmp_path, log.settings.model_dump(), "--output", str(sample), "--min-rows", "100")
    assert code == 0 and outputs == {**outputs, "found": "true", "rows": "170"}


@pytest.mark.slow
def test_an_unreachable_bucket_falls_back_with_the_reason(tmp_path: Path, s3: Any, in_actions: None) -> None:
    code, outputs = export(
        tmp_path, {"sink": "s3", "bucket": "no-such-bucket"}, "--output", str(tmp_path / "sample.csv")
    )
    assert code == 0 and outputs["found"] == "false"
    assert "s3://no-such-bucket/predictions/ cannot be read here" in outputs["reason"]
