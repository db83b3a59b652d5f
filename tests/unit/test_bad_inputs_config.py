"""Bad-input catalogue: configuration files, paths and registry references given to `config check`,
`config schema`, `eval-gate`, `promote`, `model-card` and `lint` (issue 11).

Every case runs the real CLI in a fresh directory, in Actions mode, and asserts the exit code, the
`failure-reason`, that the first error line names the file or the field, and that nothing printed a
traceback (see tests/support/bad_inputs.py). Registry cases run against a real MLflow registry on sqlite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bad_inputs import BadInput, check_bad_input

EVAL = """\
eval:
  golden_data: golden.csv
  label: is_fraud
  model_name: fraud
  metrics:
    pr_auc: {threshold: 0.5}
  latency: {enabled: false}
  bootstrap: {resamples: 50}
"""
GOLDEN = "amount,age,is_fraud\n1.0,30,0\n2.5,41,1\n0.3,25,0\n"
MODEL_FILES = {"golden.csv": GOLDEN}


def config_case(id: str, text: str | bytes, names: str) -> BadInput:
    """`mlgate config check` on a mlgate.yaml holding `text`; the error must name `names`."""
    return BadInput(id, ("config", "check"), "invalid-input", names, files={"mlgate.yaml": text})


def eval_case(id: str, eval_yaml: str, names: str) -> BadInput:
    """An `eval:` section that must be refused by `eval-gate` before any model is opened."""
    return BadInput(
        id,
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        names,
        files={"mlgate.yaml": eval_yaml, **MODEL_FILES},
    )


def metric(rule: str, name: str = "pr_auc") -> str:
    return EVAL.replace("    pr_auc: {threshold: 0.5}\n", f"    {name}: {rule}\n")


CONFIG_FILES = [
    # syntax
    config_case("unclosed-flow-list", "eval:\n  exclude_columns: [a, b\n", "mlgate.yaml"),
    config_case("tab-indentation", "eval:\n\tlabel: y\n", "mlgate.yaml"),
    config_case("bad-indentation", "eval:\n  label: y\n   model_name: m\n", "mlgate.yaml"),
    config_case("unclosed-quote", 'eval:\n  label: "y\n', "mlgate.yaml"),
    config_case("python-object-tag", "eval: !!python/object/apply:os.system ['true']\n", "mlgate.yaml"),
    config_case("not-utf8", b"eval:\n  label: \xff\xfe\n", "mlgate.yaml"),
    config_case("unknown-alias", "eval: *nothing\n", "mlgate.yaml"),
    # duplicates
    config_case(
        "duplicate-section", "eval:\n  label: a\neval:\n  label: b\n", "duplicate key `eval` on line 3"
    ),
    config_case(
        "duplicate-nested-key",
        "drift:\n  bins: 10\n  psi_threshold: 0.2\n  bins: 20\n",
        "duplicate key `bins`",
    ),
    config_case("duplicate-metric", metric("{threshold: 0.5}\n    pr_auc: {threshold: 0.9}"), "`pr_auc`"),
    config_case("duplicate-in-flow-mapping", "drift: {bins: 5, bins: 6}\n", "duplicate key `bins`"),
    # shape
    config_case("top-level-list", "- eval\n- drift\n", "mlgate.yaml"),
    config_case("top-level-scalar", "just a string\n", "mlgate.yaml"),
    config_case("unknown-section", "evaluation:\n  label: y\n", "evaluation"),
    config_case("unknown-key", "eval:\n  golden: data.csv\n", "eval.golden"),
    config_case("unknown-nested-key", "eval:\n  latency: {budget: 3}\n", "eval.latency.budget"),
    config_case("section-is-list", "drift: [1, 2]\n", "drift"),
    config_case("newline-in-key", '"ev\\nal": {}\n', "'ev\\nal'"),
    # types
    config_case("metrics-is-list", "eval:\n  metrics: [pr_auc]\n", "eval.metrics"),
    config_case("bins-not-int", "drift:\n  bins: ten\n", "drift.bins"),
    config_case("engine-not-allowed", "data:\n  engine: dask\n", "data.engine"),
    config_case("task-not-allowed", "eval:\n  task: clustering\n", "eval.task"),
    config_case(
        "lock-timeout-not-a-duration", "terraform:\n  lock_timeout: forever\n", "terraform.lock_timeout"
    ),
    config_case("lock-timeout-negative", "terraform:\n  lock_timeout: -5m\n", "terraform.lock_timeout"),
    config_case("checkov-not-bool", "terraform:\n  checkov: maybe\n", "terraform.checkov"),
    config_case("unknown-metric", metric("{threshold: 0.5}", "auc"), "eval.metrics"),
    config_case("custom-metric-no-direction", metric("{function: 'pkg.mod:f'}", "cost"), "eval.metrics"),
    config_case("metric-for-wrong-task", EVAL + "  task: regression\n", "eval"),
    # out of domain
    config_case("bake-seconds-inf", "canary:\n  bake_seconds: .inf\n", "canary.bake_seconds"),
    config_case("bake-seconds-nan", "canary:\n  bake_seconds: .nan\n", "canary.bake_seconds"),
    config_case("canary-step-nan", "canary:\n  steps: [5, .nan]\n", "canary.steps"),
    config_case("psi-negative", "drift:\n  psi_threshold: -0.1\n", "drift.psi_threshold"),
    config_case("psi-inf", "drift:\n  psi_threshold: .inf\n", "drift.psi_threshold"),
    config_case("ks-p-above-one", "drift:\n  ks_p_value: 1.5\n", "drift.ks_p_value"),
    config_case("chunk-rows-negative", "drift:\n  chunk_rows: -5\n", "drift.chunk_rows"),
    config_case("sketch-size-zero", "drift:\n  sketch_size: 0\n", "drift.sketch_size"),
    config_case("threshold-above-one", metric("{threshold: 1.7}"), "pr_auc.threshold 1.7"),
    config_case("roc-auc-threshold-negative", metric("{threshold: -0.2}", "roc_auc"), "roc_auc.threshold"),
    config_case("recall-at-k-above-one", metric("{threshold: 3}", "recall@10"), "recall@10.threshold"),
    config_case("threshold-inf", metric("{threshold: .inf}"), "eval.metrics.pr_auc.threshold"),
    config_case(
        "regression-above-one", metric("{max_regression: {absolute: 2}}", "recall"), "recall.max_regression"
    ),
    config_case("change-negative", metric("{min_improvement: {relative: -0.1}}"), "min_improvement"),
    config_case(
        "segment-gap-above-one",
        EVAL + "  segments: [{column: age, metric: pr_auc, max_gap: 1.5}]\n",
        "segment max_gap 1.5",
    ),
    config_case("batch-size-negative", "eval:\n  latency: {batch_size: -5}\n", "eval.latency.batch_size"),
    config_case("latency-budget-inf", "eval:\n  latency: {max_seconds: .inf}\n", "eval.latency.max_seconds"),
    config_case(
        "confidence-above-one", "eval:\n  bootstrap: {confidence: 1.5}\n", "eval.bootstrap.confidence"
    ),
    config_case("resamples-float-inf", "eval:\n  bootstrap: {resamples: .inf}\n", "eval.bootstrap.resamples"),
    config_case("decision-threshold-nan", "eval:\n  decision_threshold: .nan\n", "eval.decision_threshold"),
    config_case("min-requests-negative", "canary:\n  min_requests: -1\n", "canary.min_requests"),
]

PATHS = [
    BadInput(
        "config-missing-explicit", ("config", "check", "--config", "nope.yaml"), "invalid-input", "nope.yaml"
    ),
    BadInput(
        "config-missing-env",
        ("config", "check"),
        "invalid-input",
        "elsewhere/mlgate.yaml",
        env={"MLGATE_CONFIG": "elsewhere/mlgate.yaml"},
    ),
    BadInput(
        "config-is-directory",
        ("config", "check", "--config", "conf"),
        "invalid-input",
        "conf",
        files={"conf/mlgate.yaml": "eval: {}\n"},
    ),
    BadInput(
        "schema-output-is-directory",
        ("config", "schema", "--output", "out"),
        "invalid-input",
        "out: is a directory",
        files={"out/keep": ""},
        exit_code=2,
    ),
    BadInput(
        "schema-output-under-a-file",
        ("config", "schema", "--output", "afile/schema.json"),
        "invalid-input",
        "afile is a file",
        files={"afile": "x"},
        exit_code=2,
    ),
    BadInput(
        "unknown-subcommand", ("config", "chek"), "invalid-input", "No such command 'chek'", exit_code=2
    ),
    # eval-gate
    BadInput(
        "eval-no-config-at-all",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "mlgate.yaml: does not exist; the eval gate cannot judge on defaults",
        files=MODEL_FILES,
    ),
    eval_case("eval-section-missing", "drift:\n  bins: 10\n", "mlgate.yaml: eval: has no `eval` section"),
    eval_case("eval-section-empty", "eval:\n", "has no `eval` section"),
    eval_case("eval-threshold-above-one", metric("{threshold: 1.7}"), "pr_auc.threshold 1.7"),
    eval_case("eval-duplicate-key", EVAL + "  label: other\n", "duplicate key `label`"),
    BadInput(
        "eval-config-missing",
        ("eval-gate", "--candidate", "model", "--config", "conf/mlgate.yml", "--no-comment"),
        "invalid-input",
        "conf/mlgate.yml",
    ),
    BadInput(
        "eval-golden-missing",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "golden.csv",
        files={"mlgate.yaml": EVAL},
    ),
    BadInput(
        "eval-golden-without-label",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "golden.csv",
        files={"mlgate.yaml": EVAL, "golden.csv": "amount,age\n1,2\n"},
    ),
    BadInput(
        "eval-golden-empty",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "golden.csv",
        files={"mlgate.yaml": EVAL, "golden.csv": ""},
    ),
    BadInput(
        "eval-golden-binary",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "golden.csv",
        files={"mlgate.yaml": EVAL, "golden.csv": b"PAR1\x15\x04\x15\x10\xff\xfe\x00\x00"},
    ),
    BadInput(
        "eval-golden-is-directory",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "golden.csv",
        files={"mlgate.yaml": EVAL, "golden.csv/part-0.csv": GOLDEN},
    ),
    BadInput(
        "eval-golden-duplicate-columns",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "golden.csv: column 'amount' appears more than once",
        files={"mlgate.yaml": EVAL, "golden.csv": "amount,amount,is_fraud\n1,2,0\n3,4,1\n"},
    ),
    BadInput(
        "eval-candidate-is-a-file",
        ("eval-gate", "--candidate", "model.pkl", "--no-comment"),
        "invalid-input",
        "model.pkl",
        files={"mlgate.yaml": EVAL, **MODEL_FILES, "model.pkl": b"\x80\x04K\x01."},
    ),
    BadInput(
        "eval-golden-override-missing",
        ("eval-gate", "--candidate", "model", "--golden-data", "other.csv", "--no-comment"),
        "invalid-input",
        "other.csv",
        files={"mlgate.yaml": EVAL, **MODEL_FILES},
    ),
    BadInput(
        "eval-candidate-missing",
        ("eval-gate", "--candidate", "models/absent", "--no-comment"),
        "invalid-input",
        "models/absent",
        files={"mlgate.yaml": EVAL, **MODEL_FILES},
    ),
    BadInput(
        "eval-candidate-not-a-model",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "model",
        files={"mlgate.yaml": EVAL, **MODEL_FILES, "model/readme.txt": "not a model"},
    ),
    BadInput(
        "eval-no-candidate-option",
        ("eval-gate", "--no-comment"),
        "invalid-input",
        "--candidate",
        files={"mlgate.yaml": EVAL, **MODEL_FILES},
        exit_code=2,
    ),
    BadInput(
        "eval-misspelt-option",
        ("eval-gate", "--candidat", "model"),
        "invalid-input",
        "--candidat",
        exit_code=2,
    ),
    BadInput(
        "eval-report-dir-is-a-file",
        ("eval-gate", "--candidate", "model", "--report-dir", "report.txt", "--no-comment"),
        "invalid-input",
        "report.txt: is a file",
        files={"mlgate.yaml": EVAL, **MODEL_FILES, "report.txt": "x"},
        exit_code=2,
    ),
    BadInput(
        "eval-report-dir-under-a-file",
        ("eval-gate", "--candidate", "model", "--no-comment"),
        "invalid-input",
        "notes is a file",
        files={"mlgate.yaml": EVAL, **MODEL_FILES, "notes": "x"},
        env={"MLGATE_REPORT_DIR": "notes/reports"},
        exit_code=2,
    ),
    # promote
    BadInput(
        "promote-lock-file-missing",
        ("promote", "--candidate", "model", "--lock-file", "poetry.lock"),
        "invalid-input",
        "poetry.lock: does not exist",
        exit_code=2,
    ),
    BadInput(
        "promote-dvc-lock-missing",
        ("promote", "--candidate", "model", "--dvc-lock", "data/dvc.lock"),
        "invalid-input",
        "data/dvc.lock: does not exist",
        exit_code=2,
    ),
    BadInput(
        "promote-dvc-lock-invalid",
        ("promote", "--candidate", "model"),
        "invalid-input",
        "dvc.lock",
        files={"mlgate.yaml": EVAL, "dvc.lock": "stages: [\n"},
    ),
    BadInput(
        "promote-no-candidate",
        ("promote",),
        "invalid-input",
        "--candidate",
        files={"mlgate.yaml": EVAL},
    ),
    BadInput(
        "promote-result-missing",
        ("promote", "--candidate", "model", "--result", "eval.json"),
        "invalid-input",
        "eval.json",
        files={"mlgate.yaml": EVAL},
    ),
    BadInput(
        "promote-result-not-json",
        ("promote", "--candidate", "model", "--result", "eval.json"),
        "invalid-input",
        "eval.json",
        files={"mlgate.yaml": EVAL, "eval.json": "{not json"},
    ),
    BadInput(
        "promote-result-binary",
        ("promote", "--candidate", "model", "--result", "eval.json"),
        "invalid-input",
        "eval.json",
        files={"mlgate.yaml": EVAL, "eval.json": b"\x89PNG\r\n\x1a\n\xff\xfe"},
    ),
    BadInput(
        "promote-result-json-list",
        ("promote", "--candidate", "model", "--result", "eval.json"),
        "invalid-input",
        "eval.json",
        files={"mlgate.yaml": EVAL, "eval.json": "[1, 2]"},
    ),
    BadInput(
        "promote-result-data-not-object",
        ("promote", "--candidate", "model", "--result", "eval.json"),
        "invalid-input",
        "eval.json",
        files={"mlgate.yaml": EVAL, "eval.json": '{"gate": "eval-gate", "passed": true, "data": "digest"}'},
    ),
    BadInput(
        "promote-result-of-another-gate",
        ("promote", "--candidate", "model", "--result", "eval.json"),
        "invalid-input",
        "eval.json",
        files={"mlgate.yaml": EVAL, "eval.json": '{"gate": "lint", "passed": true, "data": {}}'},
    ),
    BadInput(
        "promote-config-missing",
        ("promote", "--candidate", "model", "--config", "prod.yaml"),
        "invalid-input",
        "prod.yaml",
    ),
    BadInput(
        "promote-config-duplicate-key",
        ("promote", "--candidate", "model"),
        "invalid-input",
        "duplicate key `model_name`",
        files={"mlgate.yaml": EVAL + "  model_name: other\n"},
    ),
    BadInput(
        "promote-report-dir-is-a-file",
        ("promote", "--rollback", "--report-dir", "out"),
        "invalid-input",
        "out: is a file",
        files={"out": ""},
        exit_code=2,
    ),
    # model-card
    BadInput(
        "card-output-is-directory",
        ("model-card", "--output", "docs"),
        "invalid-input",
        "docs: is a directory",
        files={"docs/index.md": "# docs\n"},
        exit_code=2,
    ),
    BadInput(
        "card-output-under-a-file",
        ("model-card", "--output", "README.md/card.md"),
        "invalid-input",
        "README.md is a file",
        files={"README.md": "# x\n"},
        exit_code=2,
    ),
    BadInput(
        "card-config-missing",
        ("model-card", "--config", "cfg/mlgate.yaml"),
        "invalid-input",
        "cfg/mlgate.yaml",
    ),
    BadInput(
        "card-config-threshold-above-one",
        ("model-card",),
        "invalid-input",
        "pr_auc.threshold 1.7",
        files={"mlgate.yaml": metric("{threshold: 1.7}")},
    ),
    # profile (the output named on the command line, or by drift.profile in mlgate.yaml)
    BadInput(
        "profile-output-is-directory",
        ("profile", "--data", "data.csv", "--output", "profiles"),
        "invalid-input",
        "profiles: is a directory",
        files={"data.csv": GOLDEN, "profiles/old.json": "{}"},
        exit_code=2,
    ),
    BadInput(
        "profile-config-output-is-directory",
        ("profile", "--data", "data.csv"),
        "invalid-input",
        "profiles: drift.profile: is a directory",
        files={"data.csv": GOLDEN, "profiles/old.json": "{}", "mlgate.yaml": "drift:\n  profile: profiles\n"},
    ),
    BadInput(
        "profile-config-output-under-a-file",
        ("profile", "--data", "data.csv"),
        "invalid-input",
        "cannot be created: data.csv is a file",
        files={"data.csv": GOLDEN, "mlgate.yaml": "drift:\n  profile: data.csv/profile.json\n"},
    ),
    # lint
    BadInput(
        "lint-report-dir-is-a-file",
        ("lint", "--report-dir", "lint.out"),
        "invalid-input",
        "lint.out: is a file",
        files={"lint.out": ""},
        exit_code=2,
    ),
    BadInput("lint-unknown-option", ("lint", "--fix"), "invalid-input", "--fix", exit_code=2),
]

CASES = CONFIG_FILES + PATHS


def test_the_catalogue_is_large_and_distinct() -> None:
    ids = [case.id for case in CASES + REGISTRY_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 50


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(
    case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_bad_input(case, tmp_path, monkeypatch, capsys)


# -- registry references (a real MLflow registry on sqlite, shared by the cases) ---------------------------

REGISTRY_CASES = [
    BadInput(
        "eval-candidate-unknown-version",
        ("eval-gate", "--candidate", "models:/fraud/99", "--no-comment"),
        "invalid-input",
        "models:/fraud/99",
        files={"mlgate.yaml": EVAL, **MODEL_FILES},
    ),
    BadInput(
        "eval-candidate-unknown-alias",
        ("eval-gate", "--candidate", "models:/fraud@nope", "--no-comment"),
        "invalid-input",
        "models:/fraud@nope",
        files={"mlgate.yaml": EVAL, **MODEL_FILES},
    ),
    BadInput(
        "eval-baseline-unknown-model",
        ("eval-gate", "--candidate", "models:/fraud/1", "--baseline", "models:/ghost/1", "--no-comment"),
        "invalid-input",
        "models:/ghost/1",
        files={"mlgate.yaml": EVAL, **MODEL_FILES},
    ),
    BadInput(
        "promote-rollback-without-previous",
        ("promote", "--rollback"),
        "no-previous",
        "previous",
        files={"mlgate.yaml": EVAL},
    ),
    BadInput(
        "promote-rollback-unknown-model",
        ("promote", "--rollback"),
        "no-previous",
        "ghost",
        files={"mlgate.yaml": EVAL.replace("model_name: fraud", "model_name: ghost")},
    ),
    BadInput(
        "card-unknown-model",
        ("model-card",),
        "invalid-input",
        "ghost",
        files={"mlgate.yaml": EVAL.replace("model_name: fraud", "model_name: ghost")},
    ),
    BadInput(
        "card-result-missing",
        ("model-card", "--result", "eval.json"),
        "invalid-input",
        "eval.json",
        files={"mlgate.yaml": EVAL},
    ),
    BadInput(
        "card-profile-binary",
        ("model-card", "--profile", "profile.json"),
        "invalid-input",
        "profile.json",
        files={"mlgate.yaml": EVAL, "profile.json": b"\xff\xfe\x00garbage"},
    ),
    BadInput(
        "card-profile-not-object",
        ("model-card", "--profile", "profile.json"),
        "invalid-input",
        "profile.json",
        files={"mlgate.yaml": EVAL, "profile.json": '"just a string"'},
    ),
    BadInput(
        "card-unknown-version",
        ("model-card", "--version", "42"),
        "invalid-input",
        "--version",
        files={"mlgate.yaml": EVAL},
    ),
]


@pytest.fixture(scope="module")
def registry_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry holding model `fraud` v1 with alias `champion` (no `previous`)."""
    import os

    from tests.support.models import MlflowRegistry, save_classifier

    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    root = tmp_path_factory.mktemp("bad-registry")
    registry = MlflowRegistry.start(root / "registry")
    registry.register(save_classifier(root / "m1", quality="good", seed=1), "fraud", alias="champion")
    yield registry.uri
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.mark.parametrize("case", REGISTRY_CASES, ids=[case.id for case in REGISTRY_CASES])
def test_bad_registry_reference(
    case: BadInput,
    registry_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"MLFLOW_TRACKING_URI": registry_uri, "MLFLOW_REGISTRY_URI": registry_uri}
    check_bad_input(dataclasses.replace(case, env={**env, **case.env}), tmp_path, monkeypatch, capsys)
