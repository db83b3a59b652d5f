"""How long the light commands take to start, against a bare interpreter measured in the same run.

    uv run python benchmarks/cli_startup.py [--quick]

`mlgate --help`, `mlgate lint --help` and `mlgate config schema` must stay light: heavy libraries are
extras imported lazily. For scale, the same run measures what importing one heavy library would add
(pandas, and Great Expectations unless --quick). Prints the median of several runs and the ratio to
`python -c pass`.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time


def median_seconds(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 runs each, skip the slowest comparison")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 10
    python = sys.executable
    cases = {
        "python -c pass (baseline)": [python, "-c", "pass"],
        "mlgate --help": [python, "-m", "mlgate.cli", "--help"],
        "mlgate lint --help": [python, "-m", "mlgate.cli", "lint", "--help"],
        "mlgate config schema": [python, "-m", "mlgate.cli", "config", "schema"],
    }
    if importlib.util.find_spec("pandas"):
        cases["python -c 'import pandas' (for scale)"] = [python, "-c", "import pandas"]
    if not args.quick and importlib.util.find_spec("great_expectations"):
        cases["python -c 'import great_expectations' (for scale)"] = [
            python,
            "-c",
            "import great_expectations",
        ]

    baseline = median_seconds(cases["python -c pass (baseline)"], repeat)
    width = max(map(len, cases))
    print(f"{'command':<{width}}  median s  x baseline   ({repeat} runs each)")
    for name, command in cases.items():
        seconds = baseline if name.endswith("(baseline)") else median_seconds(command, repeat)
        print(f"{name:<{width}}  {seconds:8.3f}  {seconds / baseline:9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
