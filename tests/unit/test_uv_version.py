"""One uv release for the whole checkout: the Makefile's (`UV_VERSION`, bootstrapped when uv is missing)
and the dev group's (locked in uv.lock; the tests and the act runs use it).

Two releases keep two cache buckets, and `uv cache clean mlgate` of one does not reach the other's: a
stale mlgate wheel cached by the dev group's uv survived `make test`'s clean and failed a CI run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_makefile_bootstraps_the_locked_uv() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert match, "Makefile: no `UV_VERSION := …` line"
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    (locked,) = [p["version"] for p in lock["package"] if p["name"] == "uv"]
    assert match.group(1) == locked, f"Makefile UV_VERSION {match.group(1)} but uv.lock has uv {locked}"
