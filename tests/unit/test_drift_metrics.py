"""`mlgate drift-metrics`: a real drift result (`mlgate profile` + `mlgate drift` on data with one shifted
column) as Prometheus metrics, parsed back with prometheus_client's parser and linted by `promtool check
metrics` where installed. Bad inputs: tests/unit/test_bad_inputs_monitor.py."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from mlgate.cli import main

pytest.importorskip("pandas")


def write_csv(path: Path, *, shift: float, seed: int, nulls: int = 0) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data
    lines = ["amount,hour,country"]
    for i in range(2000):
        amount = "" if i < nulls else f"{rng.lognormvariate(3 + shift, 0.5):.2f}"
        lines.append(f"{amount},{rng.randrange(24)},{rng.choice(['DE', 'FR', 'US'])}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_drift_result_becomes_prometheus_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    write_csv(tmp_path / "ref.csv", shift=0, seed=1)
    write_csv(tmp_path / "cur.csv", shift=1.0, seed=2, nulls=200)
    assert main(["profile", "--data", "ref.csv", "--output", "profile.json"]) == 0
    main(["drift", "--data", "cur.csv", "--profile", "profile.json", "--report-dir", "reports"])
    assert main(["drift-metrics", "--result", "reports/drift.json", "--output", "metrics/drift.prom"]) == 0
    text = (tmp_path / "metrics/drift.prom").read_text(encoding="utf-8")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("mlgate_data_column_drifted", (("column", "amount"),))] == 1.0
    assert samples[("mlgate_data_column_drifted", (("column", "hour"),))] == 0.0
    assert samples[("mlgate_data_column_psi", (("column", "amount"),))] > 0.5
    assert samples[("mlgate_data_column_psi", (("column", "hour"),))] < 0.1
    null_rate = samples[("mlgate_data_column_null_rate", (("column", "amount"), ("dataset", "current")))]
    assert null_rate == pytest.approx(0.1)
    assert samples[("mlgate_data_rows", (("dataset", "current"),))] == 2000
    assert samples[("mlgate_data_check_timestamp_seconds", ())] > 1.7e9
    if shutil.which("promtool"):
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
