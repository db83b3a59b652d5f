"""How long a generated project's pull-request workflow (`ci.yml`) takes under act, per job.

Generates the default project, makes it a git repository and runs its `ci.yml` for a `pull_request` event
with act on this host (tests/support/act.py: mlgate's actions from a clean copy of a checkout, stand-ins
for third-party actions, a recording GitHub API), with uv's cache warm (one unmeasured run first).
Prints each job's wall time (first to last log line of the job), the critical path through the jobs'
`needs` (e.g. train then eval-gate) and the whole run's wall time.

Both variants are measured in the same run, interleaved, on the same machine:
  - after   this checkout (its template and actions);
  - before  another tree, by default `main` of this repository (`git archive`), its own template and
            actions: pass `--before REF` to choose it, or `--before none` to measure only this checkout.

    uv run python benchmarks/ci_workflow.py            # 1 warm-up + 3 measured runs per variant
    uv run python benchmarks/ci_workflow.py --quick    # 1 warm-up + 1 measured run per variant
    uv run python benchmarks/ci_workflow.py --quick --steps       # and each job's step times

Figures on a shared machine vary with its load: compare the variants' ratios from the same run.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.act import ActRun, clean_copy, pull_request_event, run_generated  # noqa: E402
from tests.support.fake_github import FakeGitHub  # noqa: E402
from tests.support.project import (  # noqa: E402
    as_github_repository,
    git,
    render_project,
    uv_bin,
)

REPO = "acme/fraud-detection"


@dataclass
class Variant:
    name: str
    src: Path  # what `uses: <mlgate_repo>/actions/...` maps to, and the template rendered
    wheels: Path
    project: Path


@dataclass
class Timing:
    wall: float
    jobs: dict[str, float]
    results: dict[str, str]
    critical: list[str]
    critical_time: float
    steps: dict[str, list[tuple[str, float]]]
    spans: dict[str, tuple[float, float]]  # each job's first and last log line, seconds after act started


def export_tree(ref: str, dest: Path) -> Path:
    """The files of `ref` (a clean tree: what a pinned action of that ref fetches)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
    )
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def prepare(name: str, src: Path, work: Path) -> Variant:
    wheels = work / f"wheels-{name}"
    wheels.mkdir(parents=True)
    subprocess.run([uv_bin(), "build", "--wheel", "--quiet", "--out-dir", str(wheels), str(src)], check=True)
    # same version, other code: each variant's lock names its own wheel file (find-links path)
    project = render_project(work / f"gen-{name}", wheel_dir=wheels, template=src, init=True)
    as_github_repository(project, REPO)
    # the GitHub remote a GitOps eval gate reads the champion's tags from (none yet: the first model)
    git(project.parent, "clone", "-q", "--bare", str(project), str(project.parent / "github-remote.git"))
    return Variant(name=name, src=src, wheels=wheels, project=project)


def needs_graph(project: Path) -> dict[str, list[str]]:
    spec = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    graph = {}
    for job, body in spec["jobs"].items():
        needs = body.get("needs", [])
        graph[job] = [needs] if isinstance(needs, str) else list(needs)
    return graph


def job_spans(run: ActRun, origin: float) -> dict[str, tuple[float, float]]:
    """Each job's first and last log line, in seconds after `origin` (an epoch time)."""
    stamps: dict[str, list[float]] = {}
    for event in run.events:
        job, stamp = event.get("jobID"), event.get("time")
        if job and stamp:
            stamps.setdefault(job, []).append(datetime.fromisoformat(stamp).timestamp() - origin)
    return {job: (min(times), max(times)) for job, times in stamps.items()}


def step_times(run: ActRun) -> dict[str, list[tuple[str, float]]]:
    """Each job's steps in order, with their wall time (first to last log line of the step)."""
    spans: dict[str, dict[str, list[float]]] = {}
    for event in run.events:
        job, step, stamp = event.get("jobID"), event.get("step"), event.get("time")
        if job and step and stamp:
            name = f"{event.get('stage', '')} {step}".strip()
            spans.setdefault(job, {}).setdefault(name, []).append(datetime.fromisoformat(stamp).timestamp())
    return {job: [(n, max(t) - min(t)) for n, t in steps.items()] for job, steps in spans.items()}


def critical_path(graph: dict[str, list[str]], jobs: dict[str, float]) -> tuple[list[str], float]:
    memo: dict[str, tuple[list[str], float]] = {}

    def longest(job: str) -> tuple[list[str], float]:
        if job not in memo:
            before = [longest(need) for need in graph.get(job, []) if need in jobs]
            chain, time_before = max(before, key=lambda item: item[1], default=([], 0.0))
            memo[job] = ([*chain, job], time_before + jobs[job])
        return memo[job]

    return max((longest(job) for job in jobs), key=lambda item: item[1], default=([], 0.0))


def run_once(variant: Variant, work: Path) -> Timing:
    head = git(variant.project, "rev-parse", "HEAD")
    with FakeGitHub() as fake:
        started, started_epoch = time.perf_counter(), time.time()
        run = run_generated(
            variant.project,
            "pull_request",
            pull_request_event(7, REPO, head_sha=head),
            workflow="ci.yml",
            fake_url=fake.url,
            wheel_dir=variant.wheels,
            mlgate_src=variant.src,
            work=work,
            git_remote=(f"https://github.com/{REPO}", variant.project.parent / "github-remote.git"),
            # actions/cache's entries (the bytecode cache) live on between the runs of a variant
            env={"MLGATE_TEST_CACHE_DIR": str(variant.project.parent / "actions-cache")},
        )
        wall = time.perf_counter() - started
    spans = job_spans(run, started_epoch)
    jobs = {job: last - first for job, (first, last) in spans.items()}
    for job, result in run.job_results().items():
        if result != "success":  # a failed gate still times its work; say why, the figures stand with it
            reasons = [a.message for a in run.annotations("error") if a.job == job]
            print(f"  {variant.name}: {job} {result}: {'; '.join(reasons)[:300] or 'see the act log'}")
    chain, chain_time = critical_path(needs_graph(variant.project), jobs)
    return Timing(wall, jobs, run.job_results(), chain, chain_time, step_times(run), spans)


def describe(name: str, timings: list[Timing], show_steps: bool = False) -> dict[str, Any]:
    jobs = sorted({job for timing in timings for job in timing.jobs})
    med = statistics.median
    print(f"\n{name}: {len(timings)} measured run(s), median (min-max) seconds")
    for job in jobs:
        values = [t.jobs[job] for t in timings if job in t.jobs]
        results = "/".join(sorted({t.results.get(job, "?") for t in timings}))
        print(f"  {job:<16} {med(values):6.1f}  ({min(values):.1f}-{max(values):.1f})  {results}")
    walls = [t.wall for t in timings]
    chains = [t.critical_time for t in timings]
    print(
        f"  {'critical path':<16} {med(chains):6.1f}  ({min(chains):.1f}-{max(chains):.1f})  "
        f"{' -> '.join(timings[-1].critical)}"
    )
    print(f"  {'whole run':<16} {med(walls):6.1f}  ({min(walls):.1f}-{max(walls):.1f})")
    if show_steps:
        print("  jobs of the last run, seconds after act started (first - last log line):")
        for job, (first, last) in sorted(timings[-1].spans.items(), key=lambda item: item[1]):
            print(f"    {job:<14} {first:5.1f} - {last:5.1f}")
        print("  steps of the last run, seconds (a step's first to last log line):")
        for job, steps in sorted(timings[-1].steps.items()):
            for step, seconds in steps:
                if seconds >= 0.5:
                    print(f"    {job:<14} {seconds:5.1f}  {step[:90]}")
    return {"wall": med(walls), "critical": med(chains)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 measured run per variant instead of 3")
    parser.add_argument("--before", default="main", help="git ref to compare with, or `none` (default: main)")
    parser.add_argument(
        "--warm-up", type=int, default=1, help="unmeasured runs per variant first (0 when uv's cache is warm)"
    )
    parser.add_argument("--steps", action="store_true", help="also print each job's step times (last run)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    # GitHub's runners write bytecode: a job's second Python process reuses what its first compiled. A
    # machine that sets PYTHONDONTWRITEBYTECODE (this one does) would make every process compile again.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-ci-") as tmp:
        work = Path(tmp)
        variants = [prepare("after", clean_copy(ROOT, work / "src-after"), work)]
        if args.before != "none":
            variants.insert(0, prepare("before", export_tree(args.before, work / "src-before"), work))
        for index in range(args.warm_up):  # generating and building are not measured; a run warms uv's cache
            for variant in variants:
                print(f"warm-up run: {variant.name}", flush=True)
                warm = run_once(variant, work / f"warm-{variant.name}-{index}")
                print(
                    f"  {warm.wall:.1f} s, critical path {warm.critical_time:.1f} s, jobs {warm.results}",
                    flush=True,
                )
        measured: dict[str, list[Timing]] = {v.name: [] for v in variants}
        for index in range(repeat):
            for variant in variants:  # interleaved: both see the same machine load
                measured[variant.name].append(run_once(variant, work / f"run-{variant.name}-{index}"))
        figures = {name: describe(name, timings, args.steps) for name, timings in measured.items()}
    if "before" in figures:
        before, after = figures["before"], figures["after"]
        print(
            f"\nafter / before: whole run {after['wall'] / before['wall']:.2f}x, "
            f"critical path {after['critical'] / before['critical']:.2f}x"
        )
    print("goal (issue 15): whole run <= 45 s, critical path <= 30 s on a 2-core machine")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
