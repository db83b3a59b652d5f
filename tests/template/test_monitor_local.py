"""`make monitor-local` in the generated project: dashboards and alerts against a real Prometheus.

The default project with a trained model (shared with test_canary_local_command.py, on the same free
ports). `make monitor-local` runs the drift check on a simulated production sample, exports it as
Prometheus metrics, and brings up the local stack — the project's service twice (baseline and canary),
nginx at 50 %, golden traffic replayed through it, Prometheus with the project's rules and the drift
metrics. Then, from the real Prometheus:

- every query of every Grafana dashboard panel, every recording rule and every alert expression (its
  left-hand side, before the threshold) returns data;
- healthy, ModelHighErrorRate does not fire; with the fault switched on (MONITOR_FAULT=1: the canary answers
  30 % of requests with 500) it fires for the canary and not for the baseline.

The rules are loaded from a copy whose `for:` and group intervals are seconds instead of minutes (the
expressions are the project's, checked equal), so the alert can fire within the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.project import project_env
from tests.template.conftest import needs_template

MISSING_TOOLS = [tool for tool in ("nginx", "prometheus") if shutil.which(tool) is None]
pytestmark = [
    needs_template,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(MISSING_TOOLS),
        reason=f"{' and '.join(MISSING_TOOLS)} not on PATH (apt-get install nginx prometheus)",
    ),
]
RUN_SECONDS = 400  # the stack stops by itself after this (MONITOR_DURATION), even if the test is killed
COMPARISON = re.compile(r"^(?P<lhs>.+?)\s*(?:>|<|==)\s*[0-9.]+\s*$", re.DOTALL)


def fast_rules(project: Path, out: Path) -> Path:
    """A copy of the project's rules with seconds for minutes in `for:` and the evaluation interval."""
    text = (project / "monitoring/prometheus/rules.yml").read_text(encoding="utf-8")
    fast = re.sub(r"(?m)^(\s+for:) \d+[mh]$", r"\1 4s", text)
    fast = re.sub(r"(?m)^(\s+interval:) \d+s$", r"\1 2s", fast)
    original, copied = yaml.safe_load(text), yaml.safe_load(fast)
    for group, fast_group in zip(original["groups"], copied["groups"], strict=True):
        assert [r["expr"] for r in group["rules"]] == [r["expr"] for r in fast_group["rules"]]
    path = out / "rules-fast.yml"
    path.write_text(fast, encoding="utf-8")
    return path


def rule_queries(project: Path) -> dict[str, str]:
    """Recording rules (their expressions) and alerts (the side compared with the threshold)."""
    doc = yaml.safe_load((project / "monitoring/prometheus/rules.yml").read_text(encoding="utf-8"))
    queries = {}
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                queries[f"record {rule['record']}"] = rule["expr"]
            else:
                match = COMPARISON.match(rule["expr"].strip())
                assert match, f"{rule['alert']}: expression is not `<signal> <op> <number>`: {rule['expr']}"
                queries[f"alert {rule['alert']}"] = match["lhs"]
    return queries


def panel_queries(project: Path) -> dict[str, str]:
    queries = {}
    for path in sorted((project / "monitoring/grafana/dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                queries[f"{path.stem} / {panel['title']} / {target['refId']}"] = target["expr"]
    return queries


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = answer.json()
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def firing(prometheus: str, alert: str) -> set[str]:
    rows = query(prometheus, f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
    return {row["metric"].get("job", "") for row in rows}


@contextlib.contextmanager
def monitor_local(
    project: Path, wheel_dir: Path, rules: Path, *, fault: bool
) -> Iterator[tuple[str, list[str]]]:
    """`make monitor-local` until the block ends (SIGINT to its process group, as Ctrl-C); yields the
    Prometheus URL it printed and its output lines."""
    env = {
        **project_env(wheel_dir),
        "MONITOR_RULES": str(rules),
        "MONITOR_DURATION": str(RUN_SECONDS),
        "MONITOR_FAULT": "1" if fault else "",
    }
    proc = subprocess.Popen(
        ["make", "monitor-local"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        url = ""
        while not url and time.monotonic() < deadline and proc.poll() is None:
            url = next((line.split()[1] for line in list(lines) if line.startswith("Prometheus: ")), "")
            time.sleep(0.5)
        assert url, "".join(lines)[-6000:]
        yield url, lines
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=10)


def wait_for_data(prometheus: str, queries: dict[str, str], seconds: float = 180) -> dict[str, str]:
    """The queries still empty after `seconds` (polling)."""
    empty = dict(queries)
    deadline = time.monotonic() + seconds
    while empty and time.monotonic() < deadline:
        empty = {name: expr for name, expr in empty.items() if not query(prometheus, expr)}
        if empty:
            time.sleep(2)
    return empty


def test_every_panel_and_alert_query_has_data_and_the_error_alert_fires_on_a_fault(
    trained_project: Path, stack_ports: dict[str, int], wheel_dir: Path, tmp_path: Path
) -> None:
    project = trained_project
    rules = fast_rules(project, tmp_path)
    panels = panel_queries(project)
    alerts_panel = {name: expr for name, expr in panels.items() if expr.startswith("ALERTS")}
    queries = {**rule_queries(project), **{k: v for k, v in panels.items() if k not in alerts_panel}}
    assert len(queries) >= 25, queries

    with monitor_local(project, wheel_dir, rules, fault=False) as (prometheus, lines):
        assert prometheus == f"http://127.0.0.1:{stack_ports['prometheus']}"
        empty = wait_for_data(prometheus, queries)
        assert not empty, f"no data for {json.dumps(empty, indent=1)}\n{''.join(lines)[-4000:]}"
        time.sleep(8)  # longer than the rules' `for` in the fast copy
        assert firing(prometheus, "ModelHighErrorRate") == set()
        output = "".join(lines)
        assert "Grafana is not started here" in output and "drift metrics 127.0.0.1:" in output, output

    with monitor_local(project, wheel_dir, rules, fault=True) as (prometheus, lines):
        deadline = time.monotonic() + 180
        while "canary" not in firing(prometheus, "ModelHighErrorRate") and time.monotonic() < deadline:
            time.sleep(2)
        assert firing(prometheus, "ModelHighErrorRate") == {"canary"}, "".join(lines)[-4000:]
        assert not wait_for_data(prometheus, alerts_panel, seconds=30)  # the dashboard's alert table
        assert "(FAULT: 30 % errors)" in "".join(lines)
