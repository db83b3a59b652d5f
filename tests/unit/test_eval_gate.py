"""`mlgate eval-gate` end to end: real sklearn models saved as MLflow models, a real MLflow registry on
sqlite, the command as a user runs it, its JSON result, Markdown report and outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from tests.support.models import MlflowRegistry, golden_frame, save_classifier, save_nan_model

CONFIG = """\
eval:
  golden_data: golden.csv
  label: is_fraud
  exclude_columns: [country]
  model_name: fraud-detection
  metrics:
    pr_auc:
      threshold: 0.5
      max_regression: {relative: 0.01}
    recall:
      threshold: 0.3
    cost:
      function: tests.support.models:fraud_cost
      greater_is_better: false
  latency:
    single_row_p95_ms: 2000
    warmup: 2
    single_row_calls: 10
    batch_calls: 3
    batch_size: 64
  segments:
    - {column: country, metric: recall, max_gap: 0.5, min_rows: 30}
  bootstrap: {resamples: 200, seed: 1}
"""


@dataclass
class World:
    root: Path
    registry: MlflowRegistry
    good: Path
    weak: Path
    config: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import os

    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    root = tmp_path_factory.mktemp("eval")
    registry = MlflowRegistry.start(root / "registry")
    golden_frame(rows=600).to_csv(root / "golden.csv", index=False)
    (root / "mlgate.yaml").write_text(CONFIG, encoding="utf-8")
    yield World(
        root,
        registry,
        save_classifier(root / "good", quality="good"),
        save_classifier(root / "weak", quality="weak"),
        root / "mlgate.yaml",
    )
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def gate(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    model_name: str | None = None,
    config: str | None = None,
) -> tuple[int, dict[str, Any], str]:
    monkeypatch.chdir(world.root)
    out = world.root / "out"
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(out / "local"))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    cfg = world.config
    if config is not None or model_name is not None:
        text = config if config is not None else CONFIG
        if model_name:
            text = text.replace("model_name: fraud-detection", f"model_name: {model_name}")
        cfg = world.root / f"mlgate-{abs(hash(text))}.yaml"
        cfg.write_text(text, encoding="utf-8")
    code = main(["eval-gate", "--config", str(cfg), "--report-dir", str(out), "--no-comment", *args])
    result_path = out / "eval-gate.json"
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    report = (out / "eval-gate.md").read_text() if (out / "eval-gate.md").exists() else ""
    if result_path.exists():
        result_path.unlink()
    return code, result, report


def test_first_model_without_champion_applies_absolute_rules_and_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, result, report = gate(world, monkeypatch, "--candidate", str(world.good), model_name="first-model")
    assert code == 0, report
    assert result["passed"] is True
    assert result["data"]["baseline"] is None
    assert result["data"]["no_baseline_policy"] == "absolute-only"
    assert "No baseline" in report and "comparisons skipped" in report
    skipped = [c for c in result["data"]["checks"] if c["passed"] is None]
    assert [c["subject"] for c in skipped] == ["pr_auc"]


def test_first_model_with_policy_fail_blocks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    text = CONFIG.replace(
        "  model_name: fraud-detection", "  model_name: never-registered\n  no_baseline: fail"
    )
    code, result, _ = gate(world, monkeypatch, "--candidate", str(world.good), config=text)
    assert code == 1
    assert result["failure_reason"] == "no-baseline"


def test_better_candidate_passes_against_champion(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.registry.register(world.weak, "fraud-detection", alias="champion")
    code, result, report = gate(world, monkeypatch, "--candidate", str(world.good))
    assert code == 0, report
    data = result["data"]
    assert data["baseline"] == "fraud-detection v1"
    pr = next(m for m in data["metrics"] if m["name"] == "pr_auc")
    assert pr["candidate"] > pr["baseline"]
    assert pr["delta_interval"]["low"] > 0  # clearly better: the whole interval is above zero
    assert pr["candidate_interval"]["low"] <= pr["candidate"] <= pr["candidate_interval"]["high"]
    assert set(data["latency_ms"]) == {"candidate", "baseline"}
    assert data["segments"][0]["column"] == "country"
    assert result["outputs"]["result-digest"] == data["digest"]["combined"]
    # verdict first, then the metric table with intervals, latency and segments
    assert report.startswith("### mlgate eval-gate: ✅ **passed**")
    assert report.index("#### Metrics") < report.index("#### Latency") < report.index("#### Segments")


def test_worse_candidate_is_blocked_with_every_failed_rule(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion = world.root / "champion-good"
    if not (champion).exists():
        save_classifier(champion, quality="good", seed=1)
    world.registry.register(champion, "fraud-strong", alias="champion")
    code, result, report = gate(world, monkeypatch, "--candidate", str(world.weak), model_name="fraud-strong")
    assert code == 1
    failed = [(c["subject"], c["reason"]) for c in result["data"]["checks"] if c["passed"] is False]
    assert ("pr_auc", "metric-threshold") in failed
    assert ("pr_auc", "metric-regression") in failed
    assert ("recall", "metric-threshold") in failed
    assert result["failure_reason"] == "metric-threshold"
    assert "❌ **blocked**" in report.splitlines()[0]
    assert "pr_auc** worse by ≤ 1.00% rel." in report


def test_outputs_are_written_for_the_runner(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    gh_out = world.root / "gh_output"
    summary = world.root / "gh_summary"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(gh_out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(world.root)
    code = main(
        [
            "eval-gate",
            "--config",
            str(world.config),
            "--candidate",
            str(world.good),
            "--report-dir",
            str(world.root / "out2"),
            "--no-comment",
        ]
    )
    assert code == 0
    text = gh_out.read_text()
    for name in ("passed<<", "failure-reason<<", "result-digest<<"):
        assert name in text
    assert "mlgate eval-gate" in summary.read_text()


@pytest.mark.parametrize(
    ("case", "expected", "reason"),
    [
        ("missing-golden", "golden dataset not found", "invalid-input"),
        ("missing-label", "label column 'is_fraud' is missing", "invalid-input"),
        ("missing-feature", "missing feature column(s) velocity", "invalid-input"),
        ("text-labels", "must hold 0/1", "invalid-input"),
        ("missing-candidate", "does not exist", "invalid-input"),
        ("corrupt-candidate", "no MLmodel file", "invalid-input"),
        ("garbled-mlmodel", "has a corrupt MLmodel file", "invalid-input"),
        ("unknown-version", "cannot be resolved", "invalid-input"),
        ("nan-model", "NaN", "prediction-error"),
        (
            "raise-model",
            "predict raised ValueError: feature 'amount' has an unexpected dtype",
            "prediction-error",
        ),
        ("short-model", "predict returned 1 values for 600 rows", "prediction-error"),
        ("unknown-metric", "unknown metric 'auc'", "invalid-input"),
    ],
)
def test_bad_input_is_one_clear_line(  # noqa: PLR0917 - pytest passes fixtures and parameters positionally
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    expected: str,
    reason: str,
) -> None:
    args = ["--candidate", str(world.good)]
    config = None
    golden = golden_frame(rows=100)
    if case == "missing-golden":
        args += ["--golden-data", "nope.csv"]
    elif case == "missing-label":
        golden.drop(columns=["is_fraud"]).to_csv(world.root / "nolabel.csv", index=False)
        args += ["--golden-data", "nolabel.csv"]
    elif case == "missing-feature":
        golden.drop(columns=["velocity"]).to_csv(world.root / "nofeature.csv", index=False)
        args += ["--golden-data", "nofeature.csv"]
    elif case == "text-labels":
        golden.assign(is_fraud=golden["is_fraud"].map({0: "no", 1: "yes"})).to_csv(
            world.root / "text.csv", index=False
        )
        args += ["--golden-data", "text.csv"]
    elif case == "missing-candidate":
        args = ["--candidate", str(world.root / "no-such-model")]
    elif case == "corrupt-candidate":
        (world.root / "empty-model").mkdir(exist_ok=True)
        args = ["--candidate", str(world.root / "empty-model")]
    elif case == "garbled-mlmodel":
        (world.root / "garbled-model").mkdir(exist_ok=True)
        (world.root / "garbled-model" / "MLmodel").write_text("flavors: [unclosed\n", encoding="utf-8")
        args = ["--candidate", str(world.root / "garbled-model")]
    elif case == "unknown-version":
        args = ["--candidate", "models:/fraud-detection/99"]
    elif case in {"nan-model", "raise-model", "short-model"}:
        if not (world.root / case).exists():
            save_nan_model(world.root / case, behaviour=case.split("-", maxsplit=1)[0])
        args = ["--candidate", str(world.root / case)]
    elif case == "unknown-metric":
        config = CONFIG.replace("    recall:\n", "    auc:\n")
    code, _, _ = gate(world, monkeypatch, *args, model_name="first-model", config=config)
    assert code == 1
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("mlgate eval-gate: error:"))
    assert expected in line
    outputs = (world.root / "out" / "local" / "outputs.env").read_text()
    assert f'failure-reason="{reason}"' in outputs.splitlines()[-1]
    assert "Traceback" not in err
