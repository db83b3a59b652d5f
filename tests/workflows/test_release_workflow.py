"""This repository's release workflow (`.github/workflows/release.yml`), run for real with act.

A clone of this checkout is released as v0.1.0 (`tools/release.py bump` cuts the CHANGELOG section) and
tagged; the tag push runs the workflow against the recording GitHub API (a bare repository holds the
tags, as GitHub would), with the stand-ins for the attest and PyPI-publish actions recording what they
were given. Expected: the sdist and the wheel reach "PyPI" and are attested with their digests, and the
GitHub release carries the CHANGELOG section as notes and the sdist, the wheel and mlgate.schema.json as
assets. A tag that does not match the version stops at the build job and publishes nothing.

The test job's own command (`sudo .ci/run`, the whole suite) is the one thing not run: in the clone it is
a stub that records the call (this suite is what it would run), and `sudo` is a pass-through, as on
GitHub's runners.
"""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.act import ActRun, run_workflow
from tests.support.fake_github import FakeGitHub
from tests.support.project import git, snapshot_template

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("act-release")]

REPO = "mlgate-dev/mlgate"
JOBS = ("build", "test", "attest", "pypi", "github-release")


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("release")
    repo = snapshot_template(root / "mlgate")
    subprocess.run(
        [sys.executable, str(repo / "tools" / "release.py"), "--root", str(repo), "bump", "0.1.0"],
        check=True,
        capture_output=True,
    )
    git(repo, "commit", "-q", "-am", "release v0.1.0")
    git(repo, "tag", "v0.1.0")
    git(repo, "tag", "v9.9.9")  # a tag that does not match the version
    git(repo, "remote", "add", "origin", f"https://github.com/{REPO}")
    remote = root / "remote.git"
    git(root, "init", "-q", "--bare", str(remote))
    git(repo, "push", "-q", str(remote), "main", "v0.1.0", "v9.9.9")
    # the suite is what the test job would run: a stub records the call
    _executable(
        repo / ".ci" / "run",
        '#!/usr/bin/env bash\necho "stub: .ci/run $*" > "$MLGATE_TEST_ARTIFACTS/ci-run"\n',
    )
    return {"repo": repo, "remote": remote}


def release(clone: dict[str, Path], tag: str, fake: FakeGitHub, work: Path, mlgate_src: Path) -> ActRun:
    _executable(
        work / "uv-bin" / "sudo", '#!/usr/bin/env bash\nexec "$@"\n'
    )  # on the stand-in setup-uv's PATH
    return run_workflow(
        clone["repo"],
        "push",
        {"ref": f"refs/tags/{tag}", "ref_name": tag, "repository": {"full_name": REPO}},
        mlgate_src=mlgate_src,
        work=work,
        workflow="release.yml",
        env={"GITHUB_API_URL": fake.url},
        secrets={"GITHUB_TOKEN": "release-token"},
    )


def test_a_tag_builds_attests_publishes_and_releases(
    clone: dict[str, Path], tmp_path: Path, mlgate_src: Path
) -> None:
    with FakeGitHub(git_dir=clone["remote"]) as fake:
        run = release(clone, "v0.1.0", fake, tmp_path / "ok", mlgate_src)
        assert {job: run.job_result(job) for job in JOBS} == dict.fromkeys(JOBS, "success"), run.explain()
        artifacts = tmp_path / "ok" / "artifacts"
        assert (artifacts / "ci-run").exists()  # the test job ran the suite's entry point

        published = sorted(p.name for p in (artifacts / "pypi").iterdir())
        assert published == ["mlgate-0.1.0-py3-none-any.whl", "mlgate-0.1.0.tar.gz"]
        digests = {
            p.name: "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (artifacts / "pypi").iterdir()
        }
        (statement,) = (artifacts / "attestations").glob("*.json")
        subjects = {
            s["name"]: s["digest"] for s in json.loads(statement.read_text(encoding="utf-8"))["subjects"]
        }
        assert subjects == digests  # exactly what was published was attested

        (gh_release,) = fake.releases().values()
        assert gh_release["tag_name"] == "v0.1.0"
        notes = subprocess.run(
            [
                sys.executable,
                str(clone["repo"] / "tools" / "release.py"),
                "--root",
                str(clone["repo"]),
                "notes",
                "0.1.0",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert gh_release["body"] == notes and "### Added" in notes
        assets = sorted(a["name"] for a in gh_release["assets"])
        assert assets == ["mlgate-0.1.0-py3-none-any.whl", "mlgate-0.1.0.tar.gz", "mlgate.schema.json"]
        schema = (clone["repo"] / "schema" / "mlgate.schema.json").read_bytes()
        assert fake.asset_content("v0.1.0", "mlgate.schema.json") == schema
        wheel = (artifacts / "pypi" / "mlgate-0.1.0-py3-none-any.whl").read_bytes()
        assert fake.asset_content("v0.1.0", "mlgate-0.1.0-py3-none-any.whl") == wheel


def test_a_tag_that_is_not_the_version_publishes_nothing(
    clone: dict[str, Path], tmp_path: Path, mlgate_src: Path
) -> None:
    with FakeGitHub(git_dir=clone["remote"]) as fake:
        run = release(clone, "v9.9.9", fake, tmp_path / "bad", mlgate_src)
        assert run.job_result("build") == "failure", run.explain()
        assert all(run.job_result(job) in (None, "skipped", "failure") for job in JOBS[2:]), run.job_results()
        assert any(
            a.file == "pyproject.toml" and "v9.9.9 does not match version 0.1.0" in a.message
            for a in run.annotations("error")
        ), run.explain()
        assert not (tmp_path / "bad" / "artifacts" / "pypi").exists()
        assert fake.releases() == {}
