"""terraform/modules/*: HCL parses, fmt-clean, documented, README tables in sync, checkov-clean.

Cloud modules cannot be `terraform validate`d offline (no provider download), so they get what runs
here: python-hcl2 parsing, `terraform fmt -check`, checkov, and the generated README check.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import hcl2
import pytest

from mlgate.terraform.checkov import DEFAULT_COMMAND, run_checkov

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p for p in (ROOT / "terraform" / "modules").iterdir() if p.is_dir())
sys.path.insert(0, str(ROOT / "tools"))
import tfdocs  # noqa: E402 - tools/ is not a package


def test_the_three_aws_modules_exist() -> None:
    assert {m.name for m in MODULES} >= {"github-oidc", "ml-bucket", "sagemaker-endpoint"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_module_parses_and_every_input_and_output_is_documented(module: Path) -> None:
    variables, outputs = tfdocs.read_module(module)
    assert variables and outputs
    for var in variables:
        assert var.get("description"), f"{module.name}: variable {var['name']} has no description"
        assert var.get("type"), f"{module.name}: variable {var['name']} has no type"
    for out in outputs:
        assert out.get("description"), f"{module.name}: output {out['name']} has no description"
    for tf in module.glob("*.tf"):
        with tf.open(encoding="utf-8") as fh:
            hcl2.load(fh)


def test_readme_tables_are_generated_from_the_code() -> None:
    assert tfdocs.main(["--check"]) == 0


def test_readme_check_catches_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "terraform" / "modules" / "ml-bucket"
    shutil.copytree(ROOT / "terraform" / "modules" / "ml-bucket", copy)
    monkeypatch.setattr(tfdocs, "MODULES", tmp_path / "terraform" / "modules")
    monkeypatch.setattr(tfdocs, "ROOT", tmp_path)
    assert tfdocs.main(["--check"]) == 0
    with (copy / "variables.tf").open("a", encoding="utf-8") as fh:
        fh.write('\nvariable "new_input" {\n  description = "Added later."\n  type        = string\n}\n')
    assert tfdocs.main(["--check"]) == 1
    assert tfdocs.main(["--write"]) == 0
    assert "`new_input`" in (copy / "README.md").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_modules_are_fmt_clean(tmp_path: Path) -> None:
    rc = tmp_path / "terraformrc"
    rc.write_text("", encoding="utf-8")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": str(rc)}
    proc = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", str(ROOT / "terraform")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, f"run `terraform fmt -recursive terraform/`: {proc.stdout}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_every_checkov_skip_carries_a_reason(module: Path) -> None:
    for tf in module.glob("*.tf"):
        for line in tf.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                assert re.search(r"checkov:skip=CKV2?_[A-Z]+_\d+:\s*\S.{15,}", line), (
                    f"{tf.name}: {line.strip()}"
                )


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_module_is_checkov_clean(module: Path, tmp_path: Path) -> None:
    report = run_checkov(
        module, out_dir=tmp_path, command=os.environ.get("MLGATE_CHECKOV_COMMAND", DEFAULT_COMMAND)
    )
    assert not report.error, report.error
    assert report.findings == [], [f"{f.check_id} {f.resource} {f.file}:{f.line}" for f in report.findings]
    assert report.passed > 0
    assert report.sarif_path is not None and report.sarif_path.is_file()
