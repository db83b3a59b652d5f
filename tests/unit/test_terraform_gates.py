"""`mlgate tf-plan` and `mlgate tf-apply` with the real terraform on `terraform_data` configurations.

Local backend only (no provider download), PR comments and labels through the local recording GitHub
API. Each test plays a pull request: plan on the PR, then apply after "merge" (a push whose commit the
API links to the PR).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from mlgate.terraform.checkov import DEFAULT_COMMAND as DEFAULT_CHECKOV
from mlgate.terraform.comments import read_plan_header
from tests.support.fake_github import FakeGitHub

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")

PR = 7
MERGE_SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
BASE = """
variable "db_password" {
  type      = string
  sensitive = true
  default   = "correct-horse-battery"
}

resource "terraform_data" "db" {
  input = { name = "orders", password = var.db_password }
}

resource "terraform_data" "cache" {
  input = "redis-small"
}

output "endpoint" {
  value = "db.internal"
}
"""


class Repo:
    """A repository checkout (cwd) with Terraform directories, driven like a workflow would."""

    def __init__(self, root: Path, gh: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root, self.gh, self.mp = root, gh, monkeypatch
        self.count = 0

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def _env(self, event: dict[str, Any], sha: str) -> None:
        self.count += 1
        run = self.root.parent / f"run{self.count}"
        run.mkdir()
        (run / "event.json").write_text(json.dumps(event), encoding="utf-8")
        for name in ("output", "summary"):
            (run / name).write_text("", encoding="utf-8")
        values = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": self.gh.url,
            "GITHUB_TOKEN": "test-token",
            "GITHUB_REPOSITORY": "acme/fraud-detection",
            "GITHUB_EVENT_PATH": str(run / "event.json"),
            "GITHUB_OUTPUT": str(run / "output"),
            "GITHUB_STEP_SUMMARY": str(run / "summary"),
            "GITHUB_SHA": sha,
            "GITHUB_RUN_ID": str(self.count),
        }
        for key, value in values.items():
            self.mp.setenv(key, value)
        self.run_dir = run

    def outputs(self) -> dict[str, str]:
        lines = (self.run_dir / "output").read_text(encoding="utf-8").splitlines()
        found, i = {}, 0
        while i < len(lines):
            name, _, delim = lines[i].partition("<<")
            j = lines.index(delim, i + 1)
            found[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
        return found

    def plan(self, workdir: str, *args: str) -> tuple[int, dict[str, str]]:
        self._env({"pull_request": {"number": PR}}, "feedfacefeedfacefeedfacefeedfacefeedface")
        code = main(["tf-plan", "--working-directory", workdir, "--no-checkov", *args])
        return code, self.outputs()

    def apply(self, workdir: str, *args: str, sha: str = MERGE_SHA) -> tuple[int, dict[str, str]]:
        self._env({"ref": "refs/heads/main"}, sha)
        code = main(["tf-apply", "--working-directory", workdir, *args])
        return code, self.outputs()

    def comment(self, key: str) -> str:
        bodies = [
            c["body"]
            for c in self.gh.comments_on(PR)
            if c["body"].startswith(f"<!-- mlgate:tf-plan:{key} -->")
        ]
        assert len(bodies) == 1, bodies
        return str(bodies[0])

    def state_addresses(self, workdir: str) -> set[str]:
        state = self.root / workdir / "terraform.tfstate"
        if not state.exists():
            return set()
        data = json.loads(state.read_text(encoding="utf-8"))
        return {
            f"{r['type']}.{r['name']}"
            + (f"[{i['index_key']!r}]".replace("'", '"') if "index_key" in i else "")
            for r in data.get("resources", [])
            for i in r.get("instances", [])
        }


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "MLGATE_")):
            monkeypatch.delenv(key)
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("", encoding="utf-8")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(cli_config))
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.chdir(root)
    with FakeGitHub() as gh:
        gh.link_commit(MERGE_SHA, PR)
        yield Repo(root, gh, monkeypatch)


def test_plan_comment_then_apply_of_exactly_that_plan(repo: Repo) -> None:
    repo.write("envs/dev/main.tf", BASE)
    code, out = repo.plan("envs/dev")
    assert code == 0 and out["passed"] == "true"
    assert (out["add"], out["change"], out["destroy"], out["has-changes"]) == ("2", "0", "0", "true")
    assert Path(out["plan-path"]).is_file() and Path(out["json-plan-path"]).is_file()
    body = repo.comment("envs/dev@default")
    assert "**2** to add" in body and "`terraform_data.db`" in body and "Full plan" in body
    assert "correct-horse-battery" not in body  # masked by the plan's own sensitivity markers
    reviewed = read_plan_header(body)
    assert reviewed is not None and reviewed.fingerprint == out["fingerprint"]

    code, out = repo.apply("envs/dev")
    assert code == 0 and out["applied"] == "true" and out["pr-number"] == str(PR)
    assert repo.state_addresses("envs/dev") == {"terraform_data.db", "terraform_data.cache"}
    assert "**Apply" in repo.comment("envs/dev@default") and "Applied" in repo.comment("envs/dev@default")

    # the next PR has nothing to do: labelled, and apply has nothing to apply
    code, out = repo.plan("envs/dev")
    assert code == 0 and out["has-changes"] == "false"
    assert "No changes" in repo.comment("envs/dev@default")
    assert repo.gh.labels_on(PR) == ["terraform:no-changes"]
    code, out = repo.apply("envs/dev")
    assert code == 0 and out["applied"] == "false" and "Nothing to apply" in repo.comment("envs/dev@default")


def test_apply_refuses_a_plan_that_changed_after_review(repo: Repo) -> None:
    repo.write("envs/dev/main.tf", BASE)
    assert repo.plan("envs/dev")[0] == 0
    # a later commit on main changes the configuration: the reviewed plan is no longer what would run
    repo.write(
        "envs/dev/main.tf", BASE.replace("redis-small", "redis-large") + 'resource "terraform_data" "x" {}\n'
    )
    code, out = repo.apply("envs/dev")
    assert code == 1 and out["failure-reason"] == "plan-changed" and out["applied"] == "false"
    assert out["fingerprint"] != out["reviewed-fingerprint"]
    assert repo.state_addresses("envs/dev") == set()  # nothing was applied
    body = repo.comment("envs/dev@default")
    assert "Refused" in body and "`terraform_data.cache`" in body and "`terraform_data.x`" in body
    report = (repo.root / ".mlgate/tf-apply/envs_dev@default/tf-apply.md").read_text(encoding="utf-8")
    assert "terraform_data.x" in report and "not in the reviewed plan" in report


def test_fingerprint_is_stable_across_replans_and_differs_when_resources_change(repo: Repo) -> None:
    # timestamp() is unknown until apply, the plan JSON carries a fresh timestamp each time: noise only
    repo.write("envs/dev/main.tf", BASE + 'resource "terraform_data" "t" {\n  input = timestamp()\n}\n')
    first = repo.plan("envs/dev")[1]
    first_json = Path(first["json-plan-path"]).read_text(encoding="utf-8")
    time.sleep(1.1)
    second = repo.plan("envs/dev")[1]
    assert Path(second["json-plan-path"]).read_text(encoding="utf-8") != first_json
    assert first["fingerprint"] == second["fingerprint"]
    repo.write("envs/dev/main.tf", BASE.replace("orders", "payments"))
    assert repo.plan("envs/dev")[1]["fingerprint"] != first["fingerprint"]


def test_destroy_replace_move_and_output_only_plans(repo: Repo) -> None:
    repo.write("envs/dev/main.tf", BASE + 'resource "terraform_data" "r" {\n  triggers_replace = [1]\n}\n')
    repo.plan("envs/dev")
    assert repo.apply("envs/dev")[0] == 0

    # destroy `cache`, replace `r`, move `db` to `database`
    config = BASE.replace('resource "terraform_data" "cache" {\n  input = "redis-small"\n}\n', "")
    config = config.replace('"terraform_data" "db"', '"terraform_data" "database"')
    config += "moved {\n  from = terraform_data.db\n  to   = terraform_data.database\n}\n"
    config += 'resource "terraform_data" "r" {\n  triggers_replace = [2]\n}\n'
    repo.write("envs/dev/main.tf", config)
    code, out = repo.plan("envs/dev")
    assert code == 0
    assert (out["add"], out["destroy"], out["replace"], out["move"]) == ("1", "2", "1", "1")
    body = repo.comment("envs/dev@default")
    assert "[!WARNING]" in body and "destroys or replaces 2 resource(s)" in body
    assert "moved from `terraform_data.db`" in body
    assert "terraform:destroy" in repo.gh.labels_on(PR)
    assert repo.apply("envs/dev")[0] == 0
    assert repo.state_addresses("envs/dev") == {"terraform_data.database", "terraform_data.r"}

    # only an output changes: a clear "only outputs" plan that is applied like any other
    repo.write("envs/dev/main.tf", config.replace("db.internal", "db2.internal"))
    code, out = repo.plan("envs/dev")
    assert code == 0 and out["has-changes"] == "true" and out["add"] == out["change"] == out["destroy"] == "0"
    body = repo.comment("envs/dev@default")
    assert "Only outputs change" in body and '"db.internal" → "db2.internal"' in body
    assert repo.gh.labels_on(PR) == []  # neither destroy nor no-changes any more
    code, out = repo.apply("envs/dev")
    assert code == 0 and out["applied"] == "true"


def test_pr_touching_two_environments_gets_one_comment_each(repo: Repo) -> None:
    repo.write("envs/staging/main.tf", BASE)
    repo.write("envs/prod/main.tf", BASE.replace("orders", "orders-prod"))
    assert repo.plan("envs/staging")[0] == 0
    assert repo.plan("envs/prod")[0] == 0
    staging, prod = repo.comment("envs/staging@default"), repo.comment("envs/prod@default")
    assert "orders-prod" in prod and "orders-prod" not in staging
    assert repo.apply("envs/prod")[0] == 0
    assert repo.state_addresses("envs/prod") and not repo.state_addresses("envs/staging")
    assert "Applied" in repo.comment("envs/prod@default") and "Apply" not in repo.comment(
        "envs/staging@default"
    )
    assert repo.apply("envs/staging")[0] == 0


def test_apply_without_a_reviewed_plan_comment_applies_nothing(repo: Repo) -> None:
    repo.write("envs/dev/main.tf", BASE)
    # someone pastes the marker into their own comment: not trusted
    repo.gh.add_comment(PR, "<!-- mlgate:tf-plan:envs/dev@default -->\nlooks good", login="mallory")
    code, out = repo.apply("envs/dev")
    assert code == 1 and out["failure-reason"] == "no-plan-comment"
    assert repo.state_addresses("envs/dev") == set()
    # a push commit that belongs to no PR
    code, out = repo.apply("envs/dev", sha="0" * 40)
    assert code == 1 and out["failure-reason"] == "no-pull-request"


@pytest.mark.parametrize(
    ("files", "reason", "annotated"),
    [
        ({"envs/dev/README.md": "no terraform here"}, "no-terraform-files", "envs/dev"),
        (
            {"envs/dev/main.tf": 'resource "terraform_data" "a" {\n  input = "x"\n'},
            "invalid-config",
            "file=envs/dev/main.tf,line=1",
        ),
        (
            {"envs/dev/main.tf": BASE + 'variable "region" {\n  type = string\n}\n'},
            "missing-variable",
            "file=envs/dev/main.tf,line=19",
        ),
        (
            {"envs/dev/main.tf": 'resource "terraform_data" "a" {\n  input = var.nope\n}\n'},
            "invalid-config",
            "file=envs/dev/main.tf,line=2",
        ),
    ],
    ids=["no-tf-files", "syntax-error", "missing-variable", "undeclared-variable"],
)
def test_bad_configurations_fail_with_a_reason_and_an_annotation(
    repo: Repo, capsys: pytest.CaptureFixture[str], files: dict[str, str], reason: str, annotated: str
) -> None:
    for rel, text in files.items():
        repo.write(rel, text)
    code, out = repo.plan("envs/dev")
    assert code == 1 and out["failure-reason"] == reason
    assert annotated in capsys.readouterr().out
    if reason != "no-terraform-files":
        assert "No plan" in repo.comment("envs/dev@default")
        assert read_plan_header(repo.comment("envs/dev@default")) is None  # nothing apply could trust


def test_unformatted_files_fail_the_gate_but_the_plan_is_still_posted(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("envs/dev/main.tf", BASE.replace('input = "redis-small"', 'input     =    "redis-small"'))
    code, out = repo.plan("envs/dev")
    assert code == 1 and out["failure-reason"] == "fmt-check" and out["has-changes"] == "true"
    assert "::error file=envs/dev/main.tf" in capsys.readouterr().out
    assert "**2** to add" in repo.comment("envs/dev@default")
    assert repo.plan("envs/dev", "--no-fail-on-fmt")[0] == 0


def test_init_failure_is_reported_as_such(repo: Repo) -> None:
    repo.write("envs/dev/main.tf", 'terraform {\n  backend "local" {}\n}\n' + BASE)
    code, out = repo.plan("envs/dev", "--backend-config", "no_such_setting=1")
    assert code == 1 and out["failure-reason"] == "init-failed"
    assert "Invalid backend configuration argument" in repo.comment("envs/dev@default")
    # a module that cannot be fetched is an init failure too, even though Terraform names its line
    repo.write(
        "envs/dev/main.tf", BASE + 'module "m" {\n  source = "git::https://127.0.0.1:9/nowhere.git"\n}\n'
    )
    code, out = repo.plan("envs/dev")
    assert code == 1 and out["failure-reason"] == "init-failed"


def test_a_held_state_lock_is_reported_as_state_locked(repo: Repo) -> None:
    sleeper = (
        'resource "terraform_data" "sleeper" {\n'
        '  provisioner "local-exec" {\n    command = "sleep 30"\n  }\n}\n'
    )
    repo.write("envs/dev/main.tf", BASE + sleeper)
    assert repo.plan("envs/dev")[0] == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_"))}
    holder = subprocess.Popen(
        ["terraform", "apply", "-auto-approve", "-input=false", "-no-color"],
        cwd=repo.root / "envs/dev",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock_info = repo.root / "envs/dev/.terraform.tfstate.lock.info"
        deadline = time.monotonic() + 60
        while not lock_info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock_info.exists(), "the other apply never took the lock"
        code, out = repo.apply("envs/dev", "--lock-timeout", "1s")
        assert code == 1 and out["failure-reason"] == "state-locked"
        assert "state is locked" in repo.comment("envs/dev@default")
        code, out = repo.plan("envs/dev", "--lock-timeout", "1s")
        assert code == 1 and out["failure-reason"] == "state-locked"
    finally:
        holder.terminate()
        holder.wait(timeout=30)


@pytest.mark.slow
def test_a_5000_resource_plan_keeps_the_comment_under_the_limit(repo: Repo) -> None:
    repo.write(
        "envs/big/main.tf",
        'resource "terraform_data" "r" {\n  count = 5000\n  input = "item-${count.index}"\n}\n',
    )
    code, out = repo.plan("envs/big", "--artifact-name", "tf-plan-big")
    assert code == 0 and out["add"] == "5000"
    body = repo.comment("envs/big@default")
    assert len(body) <= 65_536 and "**5000** to add" in body
    assert "plan cut to fit" in body and "tf-plan-big" in body
    reviewed = read_plan_header(body)
    assert reviewed is not None and reviewed.fingerprint == out["fingerprint"]


@pytest.mark.slow
def test_checkov_findings_fail_the_gate_unless_soft_failed_or_in_the_baseline(
    repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # an unused module folder with an S3 bucket: checkov scans it, Terraform never needs its provider
    repo.write("envs/dev/main.tf", BASE)
    repo.write("envs/dev/modules/bucket/main.tf", 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')

    def plan(*args: str) -> tuple[int, dict[str, str]]:
        repo._env({"pull_request": {"number": PR}}, "feedfacefeedfacefeedfacefeedfacefeedface")
        return main(["tf-plan", "--working-directory", "envs/dev", *args]), repo.outputs()

    code, out = plan()
    assert code == 1 and out["failure-reason"] == "checkov-failed" and out["has-changes"] == "true"
    assert "::error file=envs/dev/modules/bucket/main.tf,line=1" in capsys.readouterr().out
    assert all(Path(p).is_file() for p in out["sarif-paths"].splitlines()) and out["sarif-paths"]
    body = repo.comment("envs/dev@default")
    assert "❌ checkov (configuration)" in body and "`aws_s3_bucket.b`" in body and "**2** to add" in body
    result = json.loads(Path(out["result-path"]).read_text(encoding="utf-8"))
    assert result["failure_reason"] == "checkov-failed"

    failed = sorted(set(re.findall(r"`(CKV2?_AWS_\d+)`", body)))
    assert failed
    code, out = plan("--checkov-soft-fail", ",".join(failed))
    assert code == 0, out["failure-reason"]
    assert "::warning file=envs/dev/modules/bucket/main.tf" in capsys.readouterr().out

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLGATE_"))}
    subprocess.run(
        [*shlex.split(DEFAULT_CHECKOV), "-d", "envs/dev", "--create-baseline", "--skip-download", "--quiet"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        check=False,
    )
    assert (repo.root / "envs/dev/.checkov.baseline").is_file()
    code, out = plan("--checkov-baseline", "envs/dev/.checkov.baseline")
    assert code == 0, out["failure-reason"]


def test_in_place_update_shows_the_changed_attribute_and_masks_the_sensitive_one(repo: Repo) -> None:
    repo.write("envs/dev/main.tf", BASE)
    repo.plan("envs/dev")
    assert repo.apply("envs/dev")[0] == 0
    config = BASE.replace("redis-small", "redis-large").replace("correct-horse-battery", "new-secret-value")
    repo.write("envs/dev/main.tf", config)
    code, out = repo.plan("envs/dev")
    assert code == 0 and (out["add"], out["change"], out["destroy"]) == ("0", "2", "0")
    body = repo.comment("envs/dev@default")
    assert '`input`: `"redis-small"` → `"redis-large"`' in body
    assert "(sensitive value)" in body  # the password changes, and the reviewer is told so
    assert "correct-horse-battery" not in body and "new-secret-value" not in body
    assert repo.apply("envs/dev")[0] == 0
