"""Plan summary and PR-comment rendering for plans of 100, 1,000 and 10,000 resources.

    uv run python benchmarks/terraform.py [--quick]

For each size it builds a JSON plan shaped like `terraform show -json` output (creates, in-place
updates with nested attributes, replaces, destroys, moves, sensitive values, output changes, drift) and
a plan text of ~25 lines per resource, then times, as the median of several runs:

- `json.loads` of the plan: the baseline every tool pays to read a JSON plan, measured in the same run;
- `summarize_plan` + `fingerprint` (what tf-plan and tf-apply both compute);
- the whole comment: summary, resources by action, the collapsed full plan, sensitive-value scrubbing,
  and fitting under GitHub's 65,536-character limit.

Prints the times, their ratio to the baseline, and the comment length (never over the limit).
Goal: under 1 s for 10,000 resources.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from mlgate.github import COMMENT_LIMIT, render_comment
from mlgate.terraform.comments import OUTCOME_RESERVE, encode_header, render_plan_details, render_plan_summary
from mlgate.terraform.plan_format import validate_plan
from mlgate.terraform.plan_summary import scrub, sensitive_strings, summarize_plan


def synthetic_plan(n: int, seed: int = 7) -> tuple[dict[str, Any], str]:
    rng = random.Random(seed)
    changes, drift, lines = [], [], []
    for i in range(n):
        address = f'module.svc_{i % 50}.aws_s3_object.obj["key-{i:06d}"]'
        kinds = ["create", "update", "replace", "delete", "no-op", "move"]
        kind = rng.choices(kinds, [40, 25, 5, 5, 20, 5])[0]
        attrs = {
            "bucket": f"bucket-{i % 7}",
            "key": f"path/{i}",
            "tags": {"team": "ml", "cost": str(i % 13)},
            "content": {"secret": f"s3cr3t-{i:06d}", "size": i},
        }
        sensitive = {"content": {"secret": True}}
        after = dict(attrs, tags={"team": "ml", "cost": str((i + 1) % 13)})
        change: dict[str, Any] = {
            "before": None if kind == "create" else attrs,
            "after": None if kind == "delete" else after,
            "before_sensitive": False if kind == "create" else sensitive,
            "after_sensitive": False if kind == "delete" else sensitive,
            "after_unknown": {"id": True} if kind in {"create", "replace"} else {},
            "actions": {
                "create": ["create"],
                "update": ["update"],
                "replace": ["delete", "create"],
                "delete": ["delete"],
                "no-op": ["no-op"],
                "move": ["no-op"],
            }[kind],
        }
        entry: dict[str, Any] = {"address": address, "mode": "managed", "change": change}
        if kind == "move":
            entry["previous_address"] = address.replace("obj[", "old_obj[")
        changes.append(entry)
        if i % 100 == 0:
            drift.append({"address": address, "change": dict(change, actions=["update"])})
        lines.append(f"  # {address} will be {kind}")
        lines.append('  ~ resource "aws_s3_object" "obj" {')
        lines += [f'      ~ attr_{k} = "value-{i}-{k}" -> "value-{i + 1}-{k}"' for k in range(20)]
        lines += ["        # (3 unchanged attributes hidden)", "    }", ""]
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "resource_changes": changes,
        "resource_drift": drift,
        "output_changes": {
            f"out_{k}": {"actions": ["update"], "before": k, "after": k + 1} for k in range(20)
        },
    }
    return plan, "\n".join(lines)


def comment_for(plan: dict[str, Any], plan_text: str) -> str:
    summary = summarize_plan(plan)
    secrets = sensitive_strings(plan)
    header = encode_header(summary, key="terraform/envs/prod@default")
    visible = scrub(render_plan_summary(summary, title="`terraform/envs/prod@default`"), secrets)
    top = header + "\n" + visible
    budget = COMMENT_LIMIT - len(top) - 100 - OUTCOME_RESERVE
    details = scrub(render_plan_details(summary, plan_text, budget=budget), secrets)
    return render_comment("<!-- mlgate:tf-plan:terraform/envs/prod@default -->", top, details)


def median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one run per size instead of five")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 5
    print(
        f"{'resources':>9}  {'plan JSON':>9}  {'json.loads':>10}  {'shape':>8}  {'summary+fp':>10}  "
        f"{'comment':>8}  {'ratio':>6}  {'comment chars':>13}"
    )
    for n in (100, 1_000, 10_000):
        plan, text = synthetic_plan(n)
        raw = json.dumps(plan)
        base = median(lambda raw=raw: json.loads(raw), repeat)  # type: ignore[misc]
        shape = median(lambda plan=plan: validate_plan(plan), repeat)  # type: ignore[misc]
        summ = median(lambda plan=plan: summarize_plan(plan).fingerprint, repeat)  # type: ignore[misc]
        comment = median(lambda plan=plan, text=text: comment_for(plan, text), repeat)  # type: ignore[misc]
        body = comment_for(plan, text)
        if len(body) > COMMENT_LIMIT or "s3cr3t-" in body:
            raise SystemExit(f"comment for {n} resources is over the limit or leaks a secret")
        print(
            f"{n:>9,}  {len(raw) / 1e6:>7.1f}MB  {base:>9.3f}s  {shape:>7.3f}s  {summ:>9.3f}s  "
            f"{comment:>7.3f}s  {comment / base:>5.1f}x  {len(body):>13,}"
        )
    print("shape = the check against `terraform show -json`'s shape alone (part of summary+fp)")
    print("ratio = full comment (summary, fingerprint, rendering, scrubbing) / json.loads of the same plan")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
