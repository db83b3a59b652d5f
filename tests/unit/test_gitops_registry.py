"""The GitOps registry of record (mlgate.registry.gitops) on real git repositories: GTO tags written and
read with the `gto` library, pushed to a bare repository standing in for GitHub's remote, model archives
and their digests as release assets on the recording GitHub API; promotion, idempotent re-runs, rollback
to the previous version, refusal of tampered bytes, and failures that leave the registry exactly as it was."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgate.gate import GateInputError
from mlgate.github import Runner
from mlgate.registry.gitops import GitTagRegistry, pack_model, unpack_model
from mlgate.registry.models import model_files_digest, open_model
from mlgate.registry.record import Lineage
from tests.support.fake_github import FakeGitHub
from tests.support.models import save_classifier

NAME = "fraud"
REPO = "acme/fraud"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class World:
    clone: Path
    bare: Path
    fake: FakeGitHub
    models: dict[str, Path]
    commits: list[str]

    def registry(self, clone: Path | None = None) -> GitTagRegistry:
        runner = Runner(
            env={"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": self.fake.url, "GITHUB_TOKEN": "t"},
            backoff=0,
            max_attempts=2,
        )
        return GitTagRegistry.open(
            name=NAME, stage="production", remote="origin", runner=runner, repo=clone or self.clone
        )

    def remote_tags(self) -> list[str]:
        return sorted(git(self.bare, "tag", "-l").split())

    def fresh_clone(self, where: Path) -> Path:
        """What a user inspects: a new clone of the remote with its tags."""
        if where.exists():
            shutil.rmtree(where)
        git(self.bare.parent, "clone", "-q", str(self.bare), str(where))
        return where

    def promote(self, model: str, commit: int) -> tuple[str, str | None, bool]:
        registry = self.registry()
        handle = open_model(str(self.models[model]))
        move = registry.promote(
            handle,
            str(self.models[model]),
            Lineage(git_sha=self.commits[commit], pr_number=str(commit)),
            lambda version: f"notes for v{version}",
        )
        return move.version, move.previous, move.changed


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("gitops")
    clone = root / "clone"
    clone.mkdir()
    git(clone, "init", "-q", "-b", "main")
    git(clone, "config", "user.name", "mlgate tests")
    git(clone, "config", "user.email", "tests@mlgate.dev")
    commits = []
    for i in range(4):
        git(clone, "commit", "-q", "--allow-empty", "-m", f"merge {i}")
        commits.append(git(clone, "rev-parse", "HEAD"))
    bare = root / "remote.git"
    git(root, "clone", "-q", "--bare", str(clone), str(bare))
    git(clone, "remote", "add", "origin", str(bare))
    models = {
        "v1": save_classifier(root / "m1", quality="good", seed=1),
        "v2": save_classifier(root / "m2", quality="good", seed=2),
        "v3": save_classifier(root / "m3", quality="weak", seed=3),
    }
    with FakeGitHub(git_dir=bare) as fake:
        yield World(clone, bare, fake, models, commits)


def test_the_archive_is_deterministic_and_round_trips(world: World, tmp_path: Path) -> None:
    copy = shutil.copytree(world.models["v1"], tmp_path / "copy")  # new mtimes, same files
    (copy / "registered_model_meta").write_text("model_name: x\nmodel_version: 3\n", encoding="utf-8")
    first, second = pack_model(world.models["v1"]), pack_model(copy)
    assert first == second
    assert pack_model(world.models["v2"]) != first
    folder = unpack_model(first, tmp_path / "out")
    assert model_files_digest(folder) == model_files_digest(world.models["v1"])


def test_promotion_rollback_and_what_gto_shows(world: World, tmp_path: Path) -> None:
    import gto.api

    registry = world.registry()
    assert registry.champion_version() is None
    assert registry.open_champion() is None

    assert world.promote("v1", 0) == ("1.0.0", None, True)
    assert world.remote_tags() == [f"{NAME}#production#1", f"{NAME}@v1.0.0"]
    release = world.fake.releases()[f"{NAME}@v1.0.0"]
    assert sorted(a["name"] for a in release["assets"]) == [
        f"{NAME}-v1.0.0.tar.gz",
        f"{NAME}-v1.0.0.tar.gz.sha256",
    ]
    assert "notes for v1.0.0" in release["body"]
    # the version tag carries the lineage and the archive's digest
    record = world.registry().record("1.0.0")
    assert record["git_sha"] == world.commits[0] and record["pr_number"] == "0"
    assert record["model_digest"] == model_files_digest(world.models["v1"])

    assert world.promote("v2", 1) == ("2.0.0", "1.0.0", True)
    # the same model again (a re-run of the workflow): nothing new is written
    before = world.remote_tags()
    assert world.promote("v2", 1) == ("2.0.0", "1.0.0", False)
    assert world.remote_tags() == before

    back = world.registry().rollback()
    assert (back.version, back.previous) == ("1.0.0", "2.0.0")

    # a fresh clone of the remote, read with gto the way a user would
    clone = world.fresh_clone(tmp_path / "inspect")
    shown = gto.api.show(str(clone))[NAME]["stage"]["production"]
    semver_view = [v.version for v in gto.api.find_versions_in_stage(str(clone), NAME, "production")]
    history = [
        e["version"]
        for e in gto.api.history(str(clone), NAME)
        if e["event"] == "assignment" and e["stage"] == "production"
    ]
    assert shown == "v1.0.0" and semver_view == ["v1.0.0"]
    assert history == ["v1.0.0", "v2.0.0", "v1.0.0"]
    assert world.registry(clone).champion_version() == "1.0.0"

    # the champion downloaded, verified and loadable
    champion = world.registry(clone).open_champion()
    assert champion is not None and champion.label == f"{NAME} v1.0.0"
    assert champion.digest == model_files_digest(world.models["v1"])

    # rolling back again swaps back (the previous champion is v2 now)
    again = world.registry().rollback()
    assert (again.version, again.previous) == ("2.0.0", "1.0.0")


def test_a_tampered_champion_is_refused(world: World, tmp_path: Path) -> None:
    registry = world.registry()
    version = registry.champion_version() or world.promote("v1", 0)[0]
    tag, asset = f"{NAME}@v{version}", f"{NAME}-v{version}.tar.gz"
    original = world.fake.asset_content(tag, asset)
    digest_file = world.fake.asset_content(tag, f"{asset}.sha256")
    try:
        world.fake.tamper_asset(tag, asset, original[:-10] + b"0123456789")
        with pytest.raises(GateInputError) as caught:
            world.registry().open_champion()
        assert caught.value.reason == "champion-digest-mismatch"
        assert "do not match the digest" in caught.value.problem
        # the .sha256 asset replaced to match the tampered bytes: the version tag's digest still refuses
        import hashlib

        world.fake.tamper_asset(
            tag, f"{asset}.sha256", f"{hashlib.sha256(b'x').hexdigest()}  {asset}\n".encode()
        )
        world.fake.tamper_asset(tag, asset, b"x")
        with pytest.raises(GateInputError) as caught:
            world.registry().open_champion()
        assert caught.value.reason == "champion-digest-mismatch"
        assert f"the tag {tag}" in caught.value.problem
    finally:
        world.fake.tamper_asset(tag, asset, original)
        world.fake.tamper_asset(tag, f"{asset}.sha256", digest_file)
    assert world.registry().open_champion() is not None


def test_a_failed_promotion_leaves_the_registry_as_it_was(world: World) -> None:
    registry = world.registry()
    champion = registry.champion_version()
    remote, local = world.remote_tags(), sorted(git(world.clone, "tag", "-l").split())
    releases = set(world.fake.releases())
    world.fake.fail_next(1, status=422)  # GitHub refuses to create the release
    try:
        with pytest.raises(GateInputError) as caught:
            world.promote("v3", 2)
    finally:
        world.fake.state.failures.clear()
    assert caught.value.reason == "promotion-failed"
    assert "registry restored to its previous state" in caught.value.problem
    assert world.remote_tags() == remote
    assert sorted(git(world.clone, "tag", "-l").split()) == local
    assert set(world.fake.releases()) == releases
    assert world.registry().champion_version() == champion


def test_rollback_without_an_earlier_champion_is_a_clear_error(tmp_path: Path, world: World) -> None:
    clone = tmp_path / "lonely"
    git(tmp_path, "clone", "-q", str(world.bare), str(clone))
    registry = world.registry(clone)
    registry.name = "other-model"
    with pytest.raises(GateInputError) as caught:
        registry.rollback()
    assert caught.value.reason == "no-previous"


@pytest.mark.parametrize(
    "case",
    [
        (
            {"GITHUB_TOKEN": "t"},
            "https://github.com/acme/fraud.git",
            "github",
            "GTO tags and GitHub releases of acme/fraud",
        ),
        ({"GH_TOKEN": "t"}, "git@github.com:acme/fraud.git", "github", "acme/fraud"),
        (
            {},
            "https://github.com/acme/fraud",
            "mlflow",
            "no GITHUB_TOKEN or GH_TOKEN: using the local MLflow",
        ),
        ({"GITHUB_TOKEN": "t"}, "https://gitlab.com/acme/fraud", "mlflow", "is not on https://github.com"),
        (
            {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/fraud"},
            "https://github.com/acme/fraud",
            "github",
            "acme/fraud",
        ),
    ],
    ids=["token", "gh-token-ssh", "no-token", "not-github", "actions-never-falls-back"],
)
def test_which_registry_a_run_uses_and_says(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: tuple[dict[str, str], str, str, str],
) -> None:
    """`registry: github` locally: the GitHub champion with a GitHub remote and a token, else the local
    MLflow registry — and the run says which. In Actions there is no fallback."""
    from mlgate.registry.backend import open_registry

    env, remote, kind, said = case
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "remote", "add", "origin", remote)
    (tmp_path / "mlgate.yaml").write_text("registry:\n  backend: github\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    registry = open_registry(
        tmp_path / "mlgate.yaml",
        model_name=NAME,
        alias="champion",
        runner=Runner(env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db", **env}),
    )
    captured = capsys.readouterr()
    assert registry.kind == kind
    assert said in captured.out + captured.err


def test_a_shallow_checkout_without_tags_reads_the_champion(world: World, tmp_path: Path) -> None:
    """What `actions/checkout` gives a job by default (depth 1, no tags): the registry fetches the
    model's tags itself and finds the champion."""
    champion = world.registry().champion_version() or world.promote("v1", 0)[0]
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", f"file://{world.bare}", str(shallow))
    assert git(shallow, "tag", "-l") == ""
    handle = world.registry(shallow).open_champion()
    assert handle is not None and handle.version == champion
