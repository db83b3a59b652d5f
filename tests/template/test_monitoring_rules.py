"""Alerts as code in the generated project: `monitoring/prometheus/rules.yml` and its promtool unit tests.

On the rendered default project, with the real promtool (Debian's prometheus package): `promtool check
rules` and `promtool test rules` pass (what `make alerts-test` runs); the unit tests fail when an alert's
threshold is loosened or its expression loses its filter, so they can fail; every required alert exists
and links a runbook entry that exists; the positive-rate bucket is the decision threshold of params.yaml
and mlgate.yaml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.project import ROOT

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not on PATH (apt-get install -y --no-install-recommends prometheus)"
)
REQUIRED = {
    "ModelHighErrorRate",
    "ModelHighLatencyP95",
    "ModelNoTraffic",
    "ModelPredictionScoreShift",
    "ModelPositiveRateHigh",
    "ModelPositiveRateLow",
    "ModelVersionChanged",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cookiecutter.main import cookiecutter

    out = tmp_path_factory.mktemp("rules")
    return Path(cookiecutter(str(ROOT), no_input=True, output_dir=str(out), accept_hooks=False))


def promtool(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def alerts(project: Path) -> dict[str, dict[str, object]]:
    doc = yaml.safe_load((project / "monitoring/prometheus/rules.yml").read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule}


@needs_promtool
def test_rules_check_and_their_unit_tests_pass(project: Path) -> None:
    rules = project / "monitoring/prometheus"
    checked = promtool(rules, "check", "rules", "rules.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool(rules, "test", "rules", "rules.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr


@needs_promtool
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("model:request_error_ratio:rate5m > 0.05", "model:request_error_ratio:rate5m > 0.5"),
        ("model:positive_ratio:1h > 0.15", "model:positive_ratio:1h > 0.5"),
        ('status=~"5.."', 'status=~"4.."'),
        ("model:versions_served:30m > 1", "model:versions_served:30m > 2"),
    ],
    ids=["error-threshold", "kpi-band", "error-filter", "version-change"],
)
def test_the_unit_tests_catch_a_broken_rule(project: Path, tmp_path: Path, old: str, new: str) -> None:
    for name in ("rules.yml", "rules.test.yml"):
        shutil.copy(project / "monitoring/prometheus" / name, tmp_path / name)
    rules = tmp_path / "rules.yml"
    text = rules.read_text(encoding="utf-8")
    assert old in text
    rules.write_text(text.replace(old, new), encoding="utf-8")
    assert promtool(tmp_path, "check", "rules", "rules.yml").returncode == 0  # still valid PromQL
    tested = promtool(tmp_path, "test", "rules", "rules.test.yml")
    assert tested.returncode != 0, tested.stdout


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors (lower case, spaces to dashes, punctuation dropped)."""
    found = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_every_alert_links_its_runbook_entry(project: Path) -> None:
    rules = alerts(project)
    assert set(rules) >= REQUIRED
    runbook = anchors((project / "docs/runbook.md").read_text(encoding="utf-8"))
    for name, rule in rules.items():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        url = str(annotations["runbook_url"])
        assert url.startswith("https://github.com/acme/fraud-detection/blob/main/docs/runbook.md#"), url
        assert url.split("#", 1)[1] in runbook, f"{name}: no runbook heading for {url}"
        assert rule["labels"], name  # a severity to route on


def test_the_positive_rate_bucket_is_the_decision_threshold(project: Path) -> None:
    rules = (project / "monitoring/prometheus/rules.yml").read_text(encoding="utf-8")
    buckets = set(re.findall(r'model_prediction_score_bucket\{[^}]*le="([0-9.]+)"', rules))
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    config = yaml.safe_load((project / "mlgate.yaml").read_text(encoding="utf-8"))
    assert buckets == {str(params["evaluate"]["threshold"])}
    assert float(buckets.pop()) == config["eval"]["decision_threshold"]
    serve = next((project / "src").glob("*/serve.py")).read_text(encoding="utf-8")
    assert re.search(r"SCORE_BUCKETS = \([^)]*\b0\.2\b", serve)  # the service exports that bucket
