"""From merge to serving, run with act on a project generated with the DEFAULT answers (GitOps registry):
CD trains and gates the merged model, promotes it, builds the service image from the generated
Dockerfile with the promoted model in it (through the stand-in for docker/build-push-action, which records
the context, tags and labels it was given), attests it, and hands exactly that version to the canary on
the `local` target: two copies of the generated service — the champion and the previous version fetched
from the registry, digest-checked — behind nginx, scraped by a real Prometheus, with replayed golden
traffic, judged by `mlgate canary`.

- The first merge publishes v1 (nothing to canary against yet).
- A better model (tests/support/model_changes.py `risk_flags`) becomes v2: its image carries v2's name,
  version, sha256, training run and PR as labels and `model-2.0.0` / `sha-<commit>` tags; it is promoted
  through every canary step (20 → 50 → 100 %); the champion stays v2. This merge runs with the
  ECR_REPOSITORY variable set (as for SageMaker): the one build is tagged for ghcr.io and ECR, logged in
  to ECR with the push role's AWS credentials, and the job hands `<repository>@<digest>` on; the first
  merge, without it, pushes to ghcr.io only.
- A bad model (`balanced_class_weight`: passes the eval gate, but its scores are inflated) becomes v3, its
  canary rolls back on prediction shift, and `champion-rollback` makes v2 the champion again and says so
  on the merged pull request: the registry and serving agree.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.act import ActRun, free_port, run_generated
from tests.support.fake_github import FakeGitHub
from tests.support.latency import measured_single_row_budget_ms, set_single_row_budget
from tests.support.model_changes import committed
from tests.support.project import as_github_repository, git, render_project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("act-deploy"),
    pytest.mark.skipif(
        not (shutil.which("nginx") and shutil.which("prometheus")),
        reason="needs nginx and prometheus (apt-get install -y --no-install-recommends nginx prometheus)",
    ),
]

REPO = "acme/fraud-detection"
MODEL = "fraud-detection"
IMAGE = "ghcr.io/acme/fraud-detection"
CANARY_CONFIG = "deploy/canary-ci.yaml"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-detection"
ECR_PUSH_ROLE = "arn:aws:iam::123456789012:role/fraud-detection-prod-image-push"
#: the repository variables of a project that serves on SageMaker (terraform outputs)
ECR_VARIABLES = {"ECR_REPOSITORY": ECR, "ECR_PUSH_ROLE_ARN": ECR_PUSH_ROLE}
#: the last job of CD's chain: act runs it with every job it needs (gate, promote, image, canary-*)
LAST_JOB = "champion-rollback"


@dataclass
class DeployRepo:
    project: Path
    bare: Path
    fake: FakeGitHub
    wheel_dir: Path
    mlgate_src: Path

    def merge(self, work: Path, pr: int, variables: dict[str, str] | None = None) -> tuple[ActRun, Path]:
        """CD for the merge of `pr` (HEAD of main); returns the run and its artifacts folder."""
        head = git(self.project, "rev-parse", "HEAD")
        self.fake.link_commit(head, pr)
        payload: dict[str, Any] = {
            "ref": "refs/heads/main",
            "after": head,
            "head_commit": {"id": head, "message": f"Merge pull request #{pr}"},
        }
        run = run_generated(
            self.project,
            "push",
            payload,
            workflow="cd.yml",
            job=LAST_JOB,
            fake_url=self.fake.url,
            wheel_dir=self.wheel_dir,
            mlgate_src=self.mlgate_src,
            work=work,
            git_remote=(f"https://github.com/{REPO}", self.bare),
            variables={"CANARY_TARGET": "local", "CANARY_STAGING_CONFIG": CANARY_CONFIG, **(variables or {})},
        )
        return run, work / "artifacts"

    def champion(self, where: Path) -> str:
        """The production version `gto show` reports in a fresh clone of the remote."""
        import gto.api

        git(self.bare.parent, "clone", "-q", str(self.bare), str(where))
        return str(gto.api.show(str(where))[MODEL]["stage"]["production"])


def canary_config(project: Path) -> dict[str, Any]:
    """mlgate.yaml with a canary section for this machine: free loopback ports, short bakes, and the
    coarse regressions a few hundred requests can rule out (as `make canary-local` uses)."""
    raw = yaml.safe_load((project / "mlgate.yaml").read_text(encoding="utf-8"))
    raw["canary"] = {
        "target": "local",
        "steps": [20, 50, 100],
        "bake_seconds": 10,
        "min_requests": 20,
        "max_inconclusive": 6,
        "analysis": {"error_rate_min_delta": 0.1, "latency_max_ratio": 2.0},
        "prometheus": {"url": f"http://127.0.0.1:{free_port()}"},
        "local": {
            "nginx_conf": ".mlgate/canary/nginx.conf",
            "listen": f"127.0.0.1:{free_port()}",
            "baseline_upstream": f"127.0.0.1:{free_port()}",
            "canary_upstream": f"127.0.0.1:{free_port()}",
        },
    }
    return raw


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path, mlgate_src: Path) -> Iterator[DeployRepo]:
    generated = render_project(tmp_path_factory.mktemp("gen"), wheel_dir=wheel_dir, init=True)
    set_single_row_budget(generated, measured_single_row_budget_ms(generated))
    config = generated / CANARY_CONFIG
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(canary_config(generated), sort_keys=False), encoding="utf-8")
    project = as_github_repository(generated, REPO)
    bare = tmp_path_factory.mktemp("github") / "fraud-detection.git"
    git(project.parent, "clone", "-q", "--bare", str(project), str(bare))
    with FakeGitHub(git_dir=bare) as fake:
        yield DeployRepo(project, bare, fake, wheel_dir, mlgate_src)


def built(artifacts: Path) -> dict[str, Any]:
    records = sorted((artifacts / "docker").glob("build-image-*.json"))
    assert len(records) == 1, records
    return dict(json.loads(records[0].read_text(encoding="utf-8")))


ROW = re.compile(r"^\| [\d.]+ \| ([\w-]+) \| ([\d.]+) \| \S* ?([\w-]+) \|", re.MULTILINE)


def timeline(run: ActRun) -> list[tuple[str, float, str]]:
    """(action, canary %, verdict) of each canary event, from the timeline in the job's step summary."""
    rows = [(a, float(p), v) for a, p, v in ROW.findall(run.summaries("canary-staging"))]
    assert rows, run.explain()
    return rows


@pytest.fixture(scope="module")
def first_run(repo: DeployRepo, tmp_path_factory: pytest.TempPathFactory) -> tuple[ActRun, Path]:
    return repo.merge(tmp_path_factory.mktemp("cd1"), pr=1)


@pytest.fixture(scope="module")
def first(first_run: tuple[ActRun, Path]) -> ActRun:
    return first_run[0]


@pytest.fixture(scope="module")
def better(repo: DeployRepo, first: ActRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[ActRun, Path]:
    assert first.job_result("promote") == "success", first.explain()
    with committed(repo.project, "risk_flags", "Flag new cards, night-time and card-not-present", keep=True):
        return repo.merge(tmp_path_factory.mktemp("cd2"), pr=2, variables=ECR_VARIABLES)


def logins(artifacts: Path) -> dict[str, dict[str, Any]]:
    """The image job's registry logins (stand-in records), by registry."""
    records = [json.loads(p.read_text()) for p in (artifacts / "docker").glob("login-image-*.json")]
    return {r["registry"]: r for r in records}


def test_the_first_merge_publishes_v1_and_builds_its_image(first_run: tuple[ActRun, Path]) -> None:
    first, artifacts = first_run
    results = first.job_results()
    assert results.get("promote") == "success", first.explain()
    assert first.outputs("promote").get("model-version") == "1.0.0", first.explain()
    assert results.get("image") == "success", first.explain()
    assert "canary-staging" not in results or results["canary-staging"] == "skipped", results  # no previous
    # no ECR_REPOSITORY: ghcr.io only, no AWS credentials asked for, no ECR image handed on
    assert all(tag.startswith(f"{IMAGE}:") for tag in built(artifacts)["tags"]), built(artifacts)["tags"]
    assert list(logins(artifacts)) == ["ghcr.io"]
    assert not list((artifacts / "aws").glob("credentials-image-*.json"))
    assert not first.outputs("image").get("ecr-image"), first.outputs("image")


def test_a_better_model_is_built_with_its_lineage_and_promoted_through_every_step(
    repo: DeployRepo, better: tuple[ActRun, Path], tmp_path: Path
) -> None:
    run, artifacts = better
    results = run.job_results()
    assert results.get("promote") == "success", run.explain()
    promoted = run.outputs("promote")
    assert (promoted.get("model-version"), promoted.get("previous-version")) == ("2.0.0", "1.0.0")

    # the image: built from the generated Dockerfile with exactly v2's files, labelled with its lineage
    assert results.get("image") == "success", run.explain()
    build = built(artifacts)
    sha = git(repo.project, "rev-parse", "HEAD")
    assert build["push"] is True and build["file"].endswith("Dockerfile")
    # one build for both registries: ghcr.io and the project's ECR repository (ECR_REPOSITORY)
    assert sorted(build["tags"]) == sorted(
        [f"{IMAGE}:model-2.0.0", f"{IMAGE}:sha-{sha[:12]}", f"{ECR}:model-2.0.0", f"{ECR}:sha-{sha[:12]}"]
    )
    assert build["build_args"] == ["MODEL_VERSION=2.0.0"]
    labels = build["labels"]
    release = repo.fake.releases()[f"{MODEL}@v2.0.0"]
    assert labels["dev.mlgate.model.name"] == MODEL
    assert labels["dev.mlgate.model.version"] == labels["org.opencontainers.image.version"] == "2.0.0"
    assert labels["dev.mlgate.model.previous-version"] == "1.0.0"
    assert labels["org.opencontainers.image.revision"] == sha
    assert labels["org.opencontainers.image.source"] == f"https://github.com/{REPO}"
    assert labels["dev.mlgate.pr"] == "2"
    assert len(labels["dev.mlgate.run-id"]) == 32, labels  # the MLflow run that trained it
    assert len(labels["dev.mlgate.model.sha256"]) == 64
    assert labels["dev.mlgate.model.sha256"] in release["body"] or labels["dev.mlgate.model.sha256"] in str(
        release
    ), "the image's model digest is the one the registry recorded"
    assert any(path.startswith("models/") for path in build["context_files"]), build["context_files"]
    registries = logins(artifacts)
    ghcr, ecr_host = registries["ghcr.io"], ECR.split("/", maxsplit=1)[0]
    assert ghcr == {"registry": "ghcr.io", "username": ghcr["username"], "password_given": True}
    # ECR: docker/login-action with the AWS credentials of the push role (OIDC), in the repository's region
    assert registries[ecr_host] == {
        "registry": ecr_host,
        "username": "",
        "password_given": False,
        "aws_credentials": True,
        "aws_region": "eu-west-1",
    }, registries
    credentials = [json.loads(p.read_text()) for p in (artifacts / "aws").glob("credentials-image-*.json")]
    assert credentials == [{"role": ECR_PUSH_ROLE, "region": "eu-west-1"}], credentials
    assert run.outputs("image").get("ecr-image") == f"{ECR}@{build['digest']}", run.outputs("image")
    # … which both canary jobs hand to canary-deploy (`image-uri`: the SageMaker target's new Model)
    jobs = yaml.safe_load((repo.project / ".github/workflows/cd.yml").read_text(encoding="utf-8"))["jobs"]
    assert jobs["image"]["outputs"]["ecr-image"] == "${{ steps.ecr.outputs.ecr-image }}"
    for job in ("canary-staging", "canary-prod"):
        canary_step = next(step for step in jobs[job]["steps"] if step.get("id") == "canary")
        assert canary_step["with"]["image-uri"] == "${{ needs.image.outputs.ecr-image }}", job
    attested = [json.loads(p.read_text()) for p in (artifacts / "attestations").glob("image-*.json")]
    assert attested == [{"subjects": [{"name": IMAGE, "digest": build["digest"]}]}], attested

    # the canary: v2 against v1, promoted through every step
    assert results.get("canary-staging") == "success", run.log("canary-staging")[-8000:]
    assert run.outputs("canary-staging").get("result") == "promoted", run.explain()
    steps = timeline(run)
    passed = [pct for action, pct, verdict in steps if verdict == "pass"]
    assert passed[:2] == [20, 50] and steps[-1][:2] == ("promote", 100), steps
    assert results.get(LAST_JOB) in (None, "skipped"), results
    assert repo.champion(tmp_path / "clone") == "v2.0.0"
    comments = [c["body"] for c in repo.fake.comments_on(2)]
    assert any("mlgate canary (staging): promoted" in c for c in comments), comments


def test_a_bad_model_rolls_back_and_the_champion_returns_to_the_previous_version(
    repo: DeployRepo, better: tuple[ActRun, Path], tmp_path: Path
) -> None:
    assert better[0].outputs("canary-staging").get("result") == "promoted", better[0].explain()
    with committed(repo.project, "balanced_class_weight", "Re-weight the classes", keep=True):
        run, artifacts = repo.merge(tmp_path / "cd3", pr=3)
    results = run.job_results()
    assert results.get("promote") == "success", run.explain()
    assert run.outputs("promote").get("model-version") == "3.0.0", run.explain()
    assert built(artifacts)["labels"]["dev.mlgate.model.version"] == "3.0.0"
    assert results.get("canary-staging") == "failure", run.explain()
    canary = run.outputs("canary-staging")
    assert canary.get("result") == "rolled-back", run.explain()
    assert canary.get("failure-reason") == "prediction-shift", run.explain()
    assert canary.get("final-canary-percent") == "0", run.explain()

    assert results.get(LAST_JOB) == "success", run.explain()
    assert run.outputs(LAST_JOB).get("model-version") == "2.0.0", run.explain()
    assert repo.champion(tmp_path / "clone") == "v2.0.0"
    comments = [c["body"] for c in repo.fake.comments_on(3)]
    assert any("rolled back" in c and "v2.0.0" in c for c in comments if "mlgate promote" in c), comments
