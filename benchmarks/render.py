"""How long `cookiecutter --no-input` takes to render a project from this template.

Prints, for the same machine and run:
  - trivial   a bare cookiecutter render of a one-file template without hooks (the floor);
  - mlgate    rendering this template with both hooks, skipping git/uv/DVC initialisation
              (MLGATE_SKIP_INIT=1) -- the figure the "well under two seconds" goal is about;
  - no hooks  rendering this template with hooks disabled (what validation + pinning cost);
  - CLI       the `cookiecutter --no-input` command end to end (interpreter start-up and imports included)
              for the trivial and for this template;
and each figure's ratio to the trivial render measured the same way (API or CLI).

    uv run python benchmarks/render.py            # 10 repetitions each
    uv run python benchmarks/render.py --quick    # 3 repetitions each
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parents[1]


def trivial_template(base: Path) -> Path:
    template = base / "trivial"
    (template / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"project_slug": "trivial"}), encoding="utf-8")
    (template / "{{cookiecutter.project_slug}}" / "README.md").write_text("# {{cookiecutter.project_slug}}\n")
    return template


def timed(repeat: int, work: Callable[[Path], object], base: Path) -> list[float]:
    times = []
    for index in range(repeat):
        out = base / f"out-{time.monotonic_ns()}-{index}"
        start = time.perf_counter()
        work(out)
        times.append(time.perf_counter() - start)
        shutil.rmtree(out, ignore_errors=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 10")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 10
    os.environ["MLGATE_SKIP_INIT"] = "1"
    cli = shutil.which("cookiecutter", path=str(Path(sys.executable).parent)) or "cookiecutter"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        trivial = trivial_template(base)

        def api(template: Path, **kwargs: object) -> Callable[[Path], object]:
            return lambda out: cookiecutter(str(template), no_input=True, output_dir=str(out), **kwargs)

        def command(template: Path) -> Callable[[Path], object]:
            return lambda out: subprocess.run(
                [cli, "--no-input", str(template), "-o", str(out)], check=True, capture_output=True
            )

        saved = os.dup(1)  # the hooks print their next steps on the inherited stdout
        with Path(os.devnull).open("w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                api(ROOT)(base / "warm-up")  # imports and first-use caches, not measured
                results = {
                    "trivial": timed(repeat, api(trivial), base),
                    "mlgate": timed(repeat, api(ROOT), base),
                    "no hooks": timed(repeat, api(ROOT, accept_hooks=False), base),
                    "trivial CLI": timed(repeat, command(trivial), base),
                    "mlgate CLI": timed(repeat, command(ROOT), base),
                }
            finally:
                os.dup2(saved, 1)
                os.close(saved)
    files = sum(1 for p in (ROOT / "{{cookiecutter.project_slug}}").rglob("*") if p.is_file())
    print(
        f"cookiecutter --no-input, {repeat} repetitions each, template of {files} files (MLGATE_SKIP_INIT=1)"
    )
    print(f"{'render':<12} {'median s':>9} {'min s':>7} {'max s':>7} {'x trivial':>10}")
    for name, times in results.items():
        floor = statistics.median(results["trivial CLI" if name.endswith("CLI") else "trivial"])
        median = statistics.median(times)
        print(f"{name:<12} {median:>9.3f} {min(times):>7.3f} {max(times):>7.3f} {median / floor:>10.1f}")
    best = statistics.median(results["mlgate CLI"])
    own = best - statistics.median(results["trivial CLI"])
    print(f"goal: `cookiecutter --no-input` well under 2 s -> mlgate CLI median {best:.3f} s")
    print(f"this template's own cost over a trivial CLI render: {own:.3f} s (the rest: start-up, imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
