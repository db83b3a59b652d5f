"""Faults in the registry during `promote` and `promote --rollback` (issue 11, item 7).

A real MLflow registry on sqlite; the fault is injected at the boundary, in MLflow's own client
(`MlflowClient`, which `mlflow.register_model`, `start_run` and `log_artifacts` call too): the k-th
registry call fails, for every k a clean run makes. After each failure the gate fails with a documented
reason, prints no traceback, and the registry's aliases, versions and tags are exactly as before.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from tests.support.bad_inputs import read_outputs
from tests.support.models import MlflowRegistry, golden_frame, save_classifier

NAME = "fraud-faults"
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
#: MlflowClient methods that talk to the tracking or registry store
RPC = (
    "get_",
    "search_",
    "set_",
    "delete_",
    "create_",
    "update_",
    "log_",
    "download_",
    "list_",
    "transition_",
)


@dataclass
class Faults:
    """Counts registry calls; raises at call number `fail_at` (before it reaches the store), or, with
    `lost_response`, after the call landed (the store saved it, the caller never heard back)."""

    fail_at: int | None = None
    lost_response: str | None = None
    calls: list[str] = field(default_factory=list)

    def wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_STATE

        @functools.wraps(real)
        def call(*args: Any, **kwargs: Any) -> Any:
            index = len(self.calls)
            self.calls.append(name)
            if index == self.fail_at:
                raise MlflowException(f"injected fault in {name}", error_code=INVALID_STATE)
            result = real(*args, **kwargs)
            if name == self.lost_response:
                self.lost_response = None
                raise ConnectionError(f"injected: the response of {name} was lost")
            return result

        return call


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    from mlflow import MlflowClient

    injected = Faults()
    for name, member in inspect.getmembers(MlflowClient, inspect.isfunction):
        if name.startswith(RPC) or name == "_create_model_version":  # what register_model calls
            monkeypatch.setattr(MlflowClient, name, injected.wrap(name, member))
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # with_retries' back-off
    return injected


@dataclass
class World:
    root: Path
    registry: MlflowRegistry
    candidate: Path
    result: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    root = tmp_path_factory.mktemp("faults")
    registry = MlflowRegistry.start(root / "registry")
    golden_frame(rows=300).to_csv(root / "golden.csv", index=False)
    (root / "mlgate.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    registry.register(save_classifier(root / "m0", quality="good", seed=3), NAME, alias="previous")
    registry.register(save_classifier(root / "m1", quality="good", seed=1), NAME, alias="champion")
    candidate = save_classifier(root / "m2", quality="good", seed=2)
    cwd = Path.cwd()
    os.chdir(root)
    try:
        code = main(["eval-gate", "--candidate", str(candidate), "--report-dir", "eval", "--no-comment"])
    finally:
        os.chdir(cwd)
    assert code == 0
    yield World(root, registry, candidate, root / "eval" / "eval-gate.json")
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str
) -> tuple[int, dict[str, str]]:
    monkeypatch.chdir(world.root)
    tmp_path.mkdir(parents=True, exist_ok=True)
    output = tmp_path / "output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    monkeypatch.setenv("MLGATE_OUTPUT_DIR", str(tmp_path / "mlgate"))
    code = main([*args, "--report-dir", str(tmp_path / "reports")])
    return code, read_outputs(output)


def promote_args(world: World) -> tuple[str, ...]:
    return ("promote", "--candidate", str(world.candidate), "--result", str(world.result), "--git-sha", "abc")


def calls_of_a_clean_run(world: World, faults: Faults, action: Callable[[], int]) -> list[str]:
    """The registry calls a run makes when nothing fails (then the registry is put back as it was)."""
    before = world.registry.state(NAME)
    assert action() == 0
    calls = list(faults.calls)
    restore(before)
    assert world.registry.state(NAME) == before
    return calls


def restore(state: dict[str, Any]) -> None:
    """Put the registry back to `state` with MLflow's own client (versions, aliases, tags)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for mv in client.search_model_versions(f"name='{NAME}'"):
        version = str(mv.version)
        if version not in state["versions"]:
            client.delete_model_version(NAME, version)
            continue
        for key in set(mv.tags) - set(state["versions"][version]):
            client.delete_model_version_tag(NAME, version, key)
        for key, value in state["versions"][version].items():
            client.set_model_version_tag(NAME, version, key, value)
    for alias, version in state["aliases"].items():
        client.set_registered_model_alias(NAME, alias, version)


@pytest.mark.parametrize("command", ["promote", "rollback"])
def test_a_failure_at_each_registry_call_leaves_the_registry_unchanged(
    command: str,
    *,
    world: World,
    faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = promote_args(world) if command == "promote" else ("promote", "--rollback")
    step = iter(range(10_000))

    def attempt() -> tuple[int, dict[str, str]]:
        faults.calls.clear()
        return run(world, monkeypatch, tmp_path / f"run{next(step)}", *args)

    calls = calls_of_a_clean_run(world, faults, lambda: attempt()[0])
    assert any(name.startswith("set_registered_model_alias") for name in calls)
    before = world.registry.state(NAME)
    for k, name in enumerate(calls):
        faults.fail_at = k
        code, outputs = attempt()
        printed = capsys.readouterr()
        everything = printed.out + printed.err
        assert code == 1, (k, name, everything)
        assert outputs.get("passed") == "false", (k, name)
        assert outputs.get("failure-reason") in (
            "promotion-failed",
            "registry-unreachable",
            "invalid-input",
        ), (
            k,
            name,
            outputs,
        )
        assert "Traceback" not in everything, (k, name, everything)
        assert world.registry.state(NAME) == before, f"registry changed after a failure in call {k} ({name})"
    faults.fail_at = None


def test_a_lost_register_response_does_not_register_the_model_twice(
    world: World, faults: Faults, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The registry saved the version but the answer was lost: the retry finds that version instead of
    registering the same files again (before the fix: two new versions)."""
    before = world.registry.state(NAME)
    faults.lost_response = "_create_model_version"
    code, outputs = run(world, monkeypatch, tmp_path, *promote_args(world))
    assert faults.lost_response is None  # the fault was injected
    after = world.registry.state(NAME)
    try:
        assert code == 0, outputs
        new = sorted(set(after["versions"]) - set(before["versions"]))
        assert len(new) == 1, f"registered {len(new)} versions for one candidate: {new}"
        assert after["aliases"]["champion"] == new[0] == outputs["model-version"]
        assert json.loads((tmp_path / "reports" / "promote.json").read_text())["passed"] is True
    finally:
        restore(before)
