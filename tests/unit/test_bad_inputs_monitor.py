"""Bad-input catalogue of the monitoring commands (`prediction-log`, `drift-metrics`, `monitor-local`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.bad_inputs import BadInput, check_bad_input

DRIFT = {"gate": "drift", "passed": True, "data": {"columns": [{"name": "amount", "statistic": 0.01}]}}

CASES = [
    BadInput(
        id="prediction-log-s3-without-bucket",
        argv=("prediction-log", "export", "--output", "s.csv"),
        reason="invalid-input",
        names="mlgate.yaml: monitor.prediction_log",
        files={"mlgate.yaml": "monitor:\n  prediction_log:\n    sink: s3\n"},
    ),
    BadInput(
        id="prediction-log-damaged-file",
        argv=("prediction-log", "export", "--output", "s.csv"),
        reason="invalid-input",
        names="predictions-1.jsonl",
        files={
            "mlgate.yaml": "monitor:\n  prediction_log:\n    directory: log\n",
            "log/predictions-1.jsonl": '{"a": 1}\n{oops\n{"a": 2}\n',
        },
    ),
    BadInput(
        id="drift-metrics-missing-result",
        argv=("drift-metrics", "--result", "none.json", "--output", "m.prom"),
        reason="invalid-input",
        names="none.json",
    ),
    BadInput(
        id="drift-metrics-not-json",
        argv=("drift-metrics", "--result", "drift.json", "--output", "m.prom"),
        reason="invalid-input",
        names="drift.json",
        files={"drift.json": "{not json"},
    ),
    BadInput(
        id="drift-metrics-other-gate",
        argv=("drift-metrics", "--result", "drift.json", "--output", "m.prom"),
        reason="invalid-input",
        names="drift.json: gate",
        files={"drift.json": json.dumps({**DRIFT, "gate": "eval-gate"})},
    ),
    BadInput(
        id="drift-metrics-text-statistic",
        argv=("drift-metrics", "--result", "drift.json", "--output", "m.prom"),
        reason="invalid-input",
        names="drift.json: data.columns[0].statistic",
        files={
            "drift.json": json.dumps(
                {**DRIFT, "data": {"columns": [{"name": "amount", "statistic": "high"}]}}
            )
        },
    ),
    BadInput(
        id="monitor-local-missing-rules",
        argv=("monitor-local", "--serve-module", "x.serve", "--rules", "none.yml"),
        reason="invalid-input",
        names="none.yml",
        files={"mlgate.yaml": "canary:\n  local:\n    nginx_bin: sh\n"},
    ),
    BadInput(
        id="canary-local-bad-section",
        argv=("canary-local", "--serve-module", "x.serve"),
        reason="invalid-input",
        names="mlgate.yaml: canary.steps",
        files={"mlgate.yaml": "canary:\n  steps: [50, 20]\n"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(case, tmp_path, monkeypatch, capsys)
