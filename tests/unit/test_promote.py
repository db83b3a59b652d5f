"""`mlgate promote` against a real MLflow registry (sqlite): promotion only of the exact model, data and
rules the eval gate passed; lineage tags; `previous` alias and one-step rollback; registry unchanged on
every failure."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from tests.support.models import MlflowRegistry, golden_frame, save_classifier

NAME = "fraud-promote"
CONFIG = f"""\
eval:
  golden_data: golden.csv
  label: is_fraud
  exclude_columns: [country]
  model_name: {NAME}
  metrics:
    pr_auc: {{threshold: 0.5}}
  latency: {{enabled: false}}
  bootstrap: {{resamples: 50}}
"""


@dataclass
class World:
    root: Path
    registry: MlflowRegistry
    models: dict[str, Path]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    root = tmp_path_factory.mktemp("promote")
    registry = MlflowRegistry.start(root / "registry")
    golden_frame(rows=300).to_csv(root / "golden.csv", index=False)
    (root / "mlgate.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  prepare:\n    outs:\n    - path: data/golden.csv\n      md5: abc123\n",
        encoding="utf-8",
    )
    models = {
        "v1": save_classifier(root / "m1", quality="good", seed=1),
        "v2": save_classifier(root / "m2", quality="good", seed=2),
        "weak": save_classifier(root / "weak", quality="weak"),
    }
    yield World(root, registry, models)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run(world: World, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(world.root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(world.root / "local"))
    return main(list(args))


def evaluate(world: World, monkeypatch: pytest.MonkeyPatch, model: str, out: str) -> Path:
    code = run(
        world,
        monkeypatch,
        "eval-gate",
        "--candidate",
        str(world.models[model]),
        "--report-dir",
        out,
        "--no-comment",
    )
    assert code == 0
    return world.root / out / "eval-gate.json"


def promote(
    world: World, monkeypatch: pytest.MonkeyPatch, model: str, result: Path, *extra: str
) -> tuple[int, Any]:
    code = run(
        world,
        monkeypatch,
        "promote",
        "--candidate",
        str(world.models[model]),
        "--result",
        str(result),
        "--report-dir",
        "promote-out",
        "--git-sha",
        "deadbeef",
        "--pr-number",
        "42",
        *extra,
    )
    out = world.root / "promote-out" / "promote.json"
    return code, json.loads(out.read_text()) if out.exists() else None


def test_promotion_flow_first_champion_then_previous_then_rollback(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = world.registry
    result1 = evaluate(world, monkeypatch, "v1", "eval-v1")
    code, out = promote(world, monkeypatch, "v1", result1)
    assert code == 0, out
    state = reg.state(NAME)
    assert state["aliases"] == {"champion": "1"}
    tags = state["versions"]["1"]
    assert tags["mlgate.git_sha"] == "deadbeef"
    assert tags["mlgate.pr_number"] == "42"
    assert tags["mlgate.eval_result_digest"] == json.loads(result1.read_text())["outputs"]["result-digest"]
    assert len(tags["mlgate.lock_hash"]) == 64 and len(tags["mlgate.dvc_data_hash"]) == 64
    assert tags["mlgate.run_id"]  # the run that holds the registered files
    assert "mlgate.promoted_at" in tags
    # the eval gate's result is stored with the version, machine-readable: an artifact of its run
    import mlflow

    from mlgate.registry.mlflow_aliases import MlflowAliasRegistry

    run_id = mlflow.MlflowClient().get_model_version(NAME, "1").run_id
    assert tags["mlgate.eval_result"] == f"runs:/{run_id}/mlgate/eval-gate.json"
    stored = MlflowAliasRegistry(name=NAME, alias="champion").eval_result("1")
    assert stored.document == result1.read_bytes()
    assert stored.expected_digest == tags["mlgate.eval_result_digest"]

    result2 = evaluate(world, monkeypatch, "v2", "eval-v2")
    assert json.loads(result2.read_text())["data"]["baseline"] == f"{NAME} v1"
    code, out = promote(world, monkeypatch, "v2", result2)
    assert code == 0, out
    assert out["outputs"] == {"model-version": "2", "previous-version": "1"}
    assert reg.state(NAME)["aliases"] == {"champion": "2", "previous": "1"}

    # promoting the same model again changes nothing
    before = reg.state(NAME)
    code, out = promote(world, monkeypatch, "v2", result2)
    assert code == 0 and "already" in (world.root / "promote-out" / "promote.md").read_text()
    assert reg.state(NAME) == before  # no second version for the same files
    code = run(world, monkeypatch, "promote", "--rollback", "--report-dir", "promote-out")
    assert code == 0
    after = reg.state(NAME)
    assert after["aliases"] == {"champion": "1", "previous": "2"}
    assert "mlgate.rolled_back_at" in after["versions"]["2"]
    assert set(after["versions"]) == {"1", "2"}


def test_refuses_a_model_other_than_the_one_judged_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = evaluate(world, monkeypatch, "v2", "eval-mismatch")
    before = world.registry.state(NAME)
    code, out = promote(world, monkeypatch, "weak", result)
    assert code == 1
    assert out["failure_reason"] == "digest-mismatch"
    assert "model" in out["data"] or "model" in (world.root / "promote-out" / "promote.md").read_text()
    assert world.registry.state(NAME) == before


def test_refuses_when_rules_or_data_changed_after_the_gate(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = evaluate(world, monkeypatch, "v2", "eval-rules")
    before = world.registry.state(NAME)
    changed = world.root / "mlgate-changed.yaml"
    changed.write_text(CONFIG.replace("threshold: 0.5", "threshold: 0.1"), encoding="utf-8")
    code, out = promote(world, monkeypatch, "v2", result, "--config", str(changed))
    assert (code, out["failure_reason"]) == (1, "digest-mismatch")
    assert "| rules |" in (world.root / "promote-out" / "promote.md").read_text()
    assert world.registry.state(NAME) == before


def test_refuses_a_failed_result(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    result = evaluate(world, monkeypatch, "v2", "eval-failed")
    data = json.loads(result.read_text())
    data["passed"], data["failure_reason"] = False, "metric-threshold"
    result.write_text(json.dumps(data))
    before = world.registry.state(NAME)
    code, out = promote(world, monkeypatch, "v2", result)
    assert (code, out["failure_reason"]) == (1, "not-passed")
    assert world.registry.state(NAME) == before


def test_bad_inputs_leave_the_registry_unchanged(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = evaluate(world, monkeypatch, "v2", "eval-bad")
    before = world.registry.state(NAME)
    code = run(world, monkeypatch, "promote", "--candidate", f"models:/{NAME}/99", "--result", str(result))
    assert code == 1
    assert "cannot be resolved" in capsys.readouterr().err
    code = run(
        world, monkeypatch, "promote", "--candidate", str(world.models["v2"]), "--result", "missing.json"
    )
    assert code == 1
    assert "eval-gate result not found" in capsys.readouterr().err
    assert world.registry.state(NAME) == before


def test_rollback_without_previous_is_a_clear_error(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.registry.register(world.models["v1"], "lonely", alias="champion")
    cfg = world.root / "lonely.yaml"
    cfg.write_text(CONFIG.replace(f"model_name: {NAME}", "model_name: lonely"), encoding="utf-8")
    code = run(world, monkeypatch, "promote", "--rollback", "--config", str(cfg))
    assert code == 1
    assert "has no `previous` alias" in capsys.readouterr().err
    assert world.registry.state("lonely")["aliases"] == {"champion": "1"}


def test_transaction_undo_restores_aliases_tags_and_deletes_created_versions(world: World) -> None:
    """The undo path every failure takes, on real registry changes."""
    from mlgate.registry.mlflow_aliases import RegistryTransaction

    name = "fraud-undo"
    world.registry.register(world.models["v1"], name, alias="champion")
    world.registry.register(world.models["v2"], name, alias="previous")
    before = world.registry.state(name)
    created = world.registry.register(world.models["weak"], name)
    tx = RegistryTransaction(name)
    tx.created_version(created)
    tx.set_tag("1", "mlgate.git_sha", "cafe")
    tx.set_tag(created, "mlgate.pr_number", "7")
    tx.set_alias("previous", "1")
    tx.set_alias("champion", created)
    assert world.registry.state(name)["aliases"] == {"champion": created, "previous": "1"}
    assert tx.rollback() == []
    assert world.registry.state(name) == before


def test_model_card_renders_the_champion_with_metrics_lineage_and_profile(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "fraud-card"
    cfg = world.root / "card.yaml"
    cfg.write_text(
        CONFIG.replace(f"model_name: {NAME}", f"model_name: {name}")
        + "  model_card:\n    intended_use: Flag card transactions for manual review.\n"
        "    limitations: Not validated for merchants outside the EU.\n",
        encoding="utf-8",
    )
    # no champion yet: a clear error
    code = run(world, monkeypatch, "model-card", "--config", str(cfg))
    assert code == 1
    assert "has no `champion` alias yet" in capsys.readouterr().err

    code = run(
        world,
        monkeypatch,
        "eval-gate",
        "--config",
        str(cfg),
        "--candidate",
        str(world.models["v1"]),
        "--report-dir",
        "card-eval",
        "--no-comment",
    )
    assert code == 0
    result = world.root / "card-eval" / "eval-gate.json"
    code = run(
        world,
        monkeypatch,
        "promote",
        "--config",
        str(cfg),
        "--candidate",
        str(world.models["v1"]),
        "--result",
        str(result),
        "--git-sha",
        "c0ffee",
        "--report-dir",
        "card-promote",
    )
    assert code == 0
    profile = world.root / "profile.json"
    profile.write_text(
        json.dumps({"rows": 300, "columns": {"amount": {"mean": 0.01, "std": 1.0, "missing": 0}}})
    )
    code = run(
        world,
        monkeypatch,
        "model-card",
        "--config",
        str(cfg),
        "--result",
        str(result),
        "--profile",
        str(profile),
        "--output",
        "docs/model_card.md",
    )
    assert code == 0
    card = (world.root / "docs" / "model_card.md").read_text()
    assert card.startswith(f"<!-- mlgate:begin generated -->\n# Model card: {name} v1")
    assert "(aliases: `champion`)" in card
    assert "Flag card transactions for manual review." in card
    assert "Not validated for merchants outside the EU." in card
    pr_auc = json.loads(result.read_text())["data"]["metrics"][0]
    assert f"| pr_auc ↑ | {pr_auc['candidate']:.4f} | [{pr_auc['candidate_interval']['low']:.4f}," in card
    assert "| Git commit | `c0ffee` |" in card
    assert "| amount |" in card
    assert "different model" not in card

    # an eval result of another model is flagged, not presented as this version's
    other = evaluate(world, monkeypatch, "v2", "card-other")
    code = run(
        world,
        monkeypatch,
        "model-card",
        "--config",
        str(cfg),
        "--result",
        str(other),
        "--output",
        "docs/other.md",
    )
    assert code == 0
    assert "computed for a different model" in (world.root / "docs" / "other.md").read_text()


def test_a_folder_downloaded_from_the_registry_promotes_its_own_version(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI trains (which registers version N), downloads it as the candidate artifact, gates and promotes:
    promote reuses version N instead of registering the same files again."""
    import mlflow

    name = "fraud-reuse"
    version = world.registry.register(world.models["v2"], name)
    folder = Path(
        mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=str(world.root / "dl"))
    )
    cfg = world.root / "reuse.yaml"
    cfg.write_text(CONFIG.replace(f"model_name: {NAME}", f"model_name: {name}"), encoding="utf-8")
    assert (
        run(
            world,
            monkeypatch,
            "eval-gate",
            "--config",
            str(cfg),
            "--candidate",
            str(folder),
            "--report-dir",
            "reuse-eval",
            "--no-comment",
        )
        == 0
    )
    code = run(
        world,
        monkeypatch,
        "promote",
        "--config",
        str(cfg),
        "--candidate",
        str(folder),
        "--result",
        str(world.root / "reuse-eval" / "eval-gate.json"),
        "--report-dir",
        "reuse-promote",
    )
    assert code == 0
    state = world.registry.state(name)
    assert set(state["versions"]) == {version}
    assert state["aliases"] == {"champion": version}


def test_unreachable_registry_is_reported_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    import mlflow

    result = evaluate(world, monkeypatch, "v2", "eval-unreachable")
    before = world.registry.state(NAME)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    mlflow.set_tracking_uri(dead)
    mlflow.set_registry_uri(dead)
    try:
        code, _ = promote(world, monkeypatch, "v2", result)
    finally:
        mlflow.set_tracking_uri(world.registry.uri)
        mlflow.set_registry_uri(world.registry.uri)
    assert code == 1
    err = capsys.readouterr().err
    assert "failed after 3 attempts" in err and dead in err
    outputs = (world.root / "local" / "outputs.env").read_text().splitlines()
    assert outputs[-1] == 'failure-reason="registry-unreachable"'
    assert world.registry.state(NAME) == before


def test_a_champion_whose_files_differ_from_its_promoted_digest_is_refused(world: World) -> None:
    """The MLflow registry of record: the champion's downloaded files are checked against the
    `mlgate.model_digest` recorded at promotion: files that match pass; files that do not (here the
    record names another model's files) are refused."""
    from mlflow import MlflowClient

    from mlgate.gate import GateInputError
    from mlgate.registry.mlflow_aliases import MlflowAliasRegistry
    from mlgate.registry.models import model_files_digest

    name = "fraud-tampered"
    version = world.registry.register(world.models["v1"], name, alias="champion")
    client = MlflowClient()
    client.set_model_version_tag(name, version, "mlgate.model_digest", model_files_digest(world.models["v1"]))
    registry = MlflowAliasRegistry(name=name, alias="champion")
    assert registry.open_champion() is not None  # intact: accepted

    client.set_model_version_tag(name, version, "mlgate.model_digest", model_files_digest(world.models["v2"]))
    with pytest.raises(GateInputError) as caught:
        registry.open_champion()
    assert caught.value.reason == "champion-digest-mismatch"
    assert "do not match the digest recorded at promotion" in caught.value.problem
