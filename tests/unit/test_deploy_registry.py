"""Serving and the registry of record agree, on a real GitOps registry (GTO tags pushed to a bare
repository standing in for GitHub, release assets on the recording GitHub API), through the real CLI:

- `mlgate fetch-model` gives a serving arm exactly the files of a registry version, and refuses a version
  whose bytes do not match its digest;
- `mlgate promote --rollback --expect-champion V --comment` after a failed canary makes the previous
  version the champion again and says so on the merged pull request; refuses (changing nothing) when the
  champion is no longer V; and when the registry cannot be moved back, fails and says on the pull request
  that the registry still names V — fail closed, never a silent disagreement.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.github import Runner
from mlgate.registry.gitops import GitTagRegistry
from mlgate.registry.models import model_files_digest, open_model
from mlgate.registry.record import Lineage
from tests.support.fake_github import FakeGitHub
from tests.support.models import save_classifier

NAME = "fraud"
REPO = "acme/fraud"
PR = 12
CONFIG = f"""\
eval:
  golden_data: golden.csv
  label: is_fraud
  model_name: {NAME}
  metrics:
    pr_auc: {{threshold: 0.5}}
registry:
  backend: github
  stage: production
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class World:
    clone: Path
    bare: Path
    fake: FakeGitHub
    models: dict[str, Path]

    def env(self) -> dict[str, str]:
        return {"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": self.fake.url, "GITHUB_TOKEN": "t"}

    def registry(self) -> GitTagRegistry:
        runner = Runner(env=self.env(), backoff=0, max_attempts=2)
        return GitTagRegistry.open(
            name=NAME, stage="production", remote="origin", runner=runner, repo=self.clone
        )

    def promote(self, model: str) -> str:
        git(self.clone, "commit", "-q", "--allow-empty", "-m", f"merge {model}")  # one version per commit
        handle = open_model(str(self.models[model]))
        move = self.registry().promote(handle, str(self.models[model]), Lineage(pr_number=str(PR)), str)
        return move.version

    def champion(self) -> str | None:
        return self.registry().champion_version()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clone = tmp_path / "clone"
    clone.mkdir()
    git(clone, "init", "-q", "-b", "main")
    git(clone, "config", "user.name", "mlgate tests")
    git(clone, "config", "user.email", "tests@mlgate.dev")
    git(clone, "commit", "-q", "--allow-empty", "-m", "initial")
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(clone), str(bare))
    git(clone, "remote", "add", "origin", str(bare))
    (clone / "mlgate.yaml").write_text(CONFIG, encoding="utf-8")
    models = {
        "v1": save_classifier(tmp_path / "m1", quality="good", seed=1),
        "v2": save_classifier(tmp_path / "m2", quality="good", seed=2),
    }
    with FakeGitHub(git_dir=bare) as fake:
        w = World(clone, bare, fake, models)
        assert (w.promote("v1"), w.promote("v2")) == ("1.0.0", "2.0.0")
        yield w


def run(
    world: World, monkeypatch: pytest.MonkeyPatch, *argv: str, **env: str
) -> tuple[int, dict[str, str], str]:
    """`mlgate <argv>` in the clone as a workflow step would run it; (exit code, outputs, summary)."""
    out, summary = world.clone / "github_output", world.clone / "summary.md"
    for f in (out, summary):
        f.write_text("", encoding="utf-8")
    monkeypatch.chdir(world.clone)
    for key, value in {
        **world.env(),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_EVENT_PATH": str(world.clone / "event.json"),
        **env,
    }.items():
        monkeypatch.setenv(key, value)
    (world.clone / "event.json").write_text(json.dumps({"ref": "refs/heads/main"}), encoding="utf-8")
    code = main(list(argv))
    outputs: dict[str, str] = {}
    lines = out.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        end = lines.index(delimiter, i + 1)
        outputs[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return code, outputs, summary.read_text(encoding="utf-8")


def test_fetch_model_gives_exactly_the_version_and_refuses_tampered_bytes(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, outputs, _ = run(
        world, monkeypatch, "fetch-model", "--version", "1.0.0", "--dest", str(tmp_path / "p")
    )
    assert code == 0, outputs
    assert model_files_digest(Path(outputs["model-dir"])) == model_files_digest(world.models["v1"])

    tag, asset = f"{NAME}@v1.0.0", f"{NAME}-v1.0.0.tar.gz"
    original = world.fake.asset_content(tag, asset)
    world.fake.tamper_asset(tag, asset, original[: len(original) // 2])
    code, outputs, summary = run(
        world, monkeypatch, "fetch-model", "--version", "1.0.0", "--dest", str(tmp_path / "q")
    )
    assert code == 1
    assert outputs["failure-reason"] == "champion-digest-mismatch", outputs
    assert "do not match the digest" in summary

    code, outputs, _ = run(
        world, monkeypatch, "fetch-model", "--version", "9.0.0", "--dest", str(tmp_path / "r")
    )
    assert (code, outputs["failure-reason"]) == (1, "invalid-input")


def rollback_argv(expect: str) -> tuple[str, ...]:
    return ("promote", "--rollback", "--expect-champion", expect, "--comment")


def test_a_failed_canary_moves_the_champion_back_and_says_so_on_the_pull_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, outputs, _ = run(world, monkeypatch, *rollback_argv("2.0.0"), MLGATE_PR_NUMBER=str(PR))
    assert code == 0, outputs
    assert (outputs["model-version"], outputs["previous-version"]) == ("1.0.0", "2.0.0")
    assert world.champion() == "1.0.0"
    (comment,) = [c["body"] for c in world.fake.comments_on(PR)]
    assert "rolled back" in comment and "v1.0.0 is the champion again" in comment, comment


def test_a_champion_that_moved_meanwhile_is_left_alone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    code, outputs, _ = run(world, monkeypatch, *rollback_argv("1.0.0"), MLGATE_PR_NUMBER=str(PR))
    assert code == 1
    assert outputs["failure-reason"] == "champion-moved", outputs
    assert world.champion() == "2.0.0"
    (comment,) = [c["body"] for c in world.fake.comments_on(PR)]
    assert "v2.0.0" in comment and "nothing was changed" in comment, comment


def test_a_registry_that_cannot_be_moved_back_is_reported_fail_closed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = world.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tag updates are protected' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    code, outputs, summary = run(world, monkeypatch, *rollback_argv("2.0.0"), MLGATE_PR_NUMBER=str(PR))
    assert code == 1
    assert outputs["failure-reason"] == "rollback-failed", outputs
    assert world.champion() == "2.0.0"  # the remote refused: the registry is exactly as it was
    (comment,) = [c["body"] for c in world.fake.comments_on(PR)]
    assert "still names" in comment and "v2.0.0" in comment and "rollback: true" in comment, comment
    assert "still names" in summary
