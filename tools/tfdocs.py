"""Inputs/outputs tables of every Terraform module README, generated from the module's own code.

    uv run python tools/tfdocs.py --write    # rewrite the tables in terraform/modules/*/README.md
    uv run python tools/tfdocs.py --check    # exit 1 when a README's table is out of date (tests run this)

The tables sit between `<!-- mlgate:tfdocs -->` and `<!-- /mlgate:tfdocs -->`; prose around them is
kept. Variables and outputs are read with python-hcl2 (no terraform, no provider download).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "terraform" / "modules"
START, END = "<!-- mlgate:tfdocs -->", "<!-- /mlgate:tfdocs -->"


def unquote(value: Any) -> Any:
    """python-hcl2 8 keeps HCL's quotes on strings and block labels; drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


def expression(value: Any) -> str:
    """A type or default as it reads in HCL (`${…}` interpolation wrappers removed)."""
    if isinstance(value, str):
        return value[2:-1] if value.startswith("${") and value.endswith("}") else value
    return json.dumps(value)


def read_module(module: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    variables: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    for tf in sorted(module.glob("*.tf")):
        with tf.open(encoding="utf-8") as fh:
            parsed = hcl2.load(fh)
        for block in parsed.get("variable", []):
            for name, body in unquote(block).items():
                variables.append({"name": name, **body})
        for block in parsed.get("output", []):
            for name, body in unquote(block).items():
                outputs.append({"name": name, **body})
    return sorted(variables, key=lambda v: v["name"]), sorted(outputs, key=lambda o: o["name"])


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_tables(module: Path) -> str:
    variables, outputs = read_module(module)
    lines = ["| input | description | type | required | default |", "|---|---|---|---|---|"]
    for var in variables:
        required = "default" not in var
        default = "" if required else f"`{_cell(expression(var['default']))}`"
        type_text = _cell(expression(var.get("type", "any")))
        lines.append(
            f"| `{var['name']}` | {_cell(var.get('description', ''))} | `{type_text}` | "
            f"{'yes' if required else 'no'} | {default} |"
        )
    lines += ["", "| output | description |", "|---|---|"]
    for out in outputs:
        lines.append(f"| `{out['name']}` | {_cell(out.get('description', ''))} |")
    return "\n".join(lines)


def updated_readme(module: Path) -> tuple[str, str]:
    readme = module / "README.md"
    current = (
        readme.read_text(encoding="utf-8") if readme.exists() else f"# {module.name}\n\n{START}\n{END}\n"
    )
    if START not in current or END not in current:
        current = current.rstrip() + f"\n\n## Inputs and outputs\n\n{START}\n{END}\n"
    before, rest = current.split(START, 1)
    _, after = rest.split(END, 1)
    return current, f"{before}{START}\n{render_tables(module)}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for module in sorted(p for p in MODULES.iterdir() if p.is_dir() and list(p.glob("*.tf"))):
        current, wanted = updated_readme(module)
        if current != wanted:
            stale.append(module.relative_to(ROOT).as_posix())
            if args.write:
                (module / "README.md").write_text(wanted, encoding="utf-8")
    if args.check and stale:
        print(
            f"out of date: {', '.join(stale)} — run `uv run python tools/tfdocs.py --write`", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
