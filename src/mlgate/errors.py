"""The error every gate raises on input it cannot judge: the bottom of the package's imports.

`GateInputError` names the file, the field (or line) and the fix in one line; `mlgate.gate.run_gate` turns
it into an annotation, a `failure-reason` and exit 1. It lives here, importing nothing of mlgate, so that
`mlgate.github` (which raises it for a bad event payload) and `mlgate.gate` (which reports it) do not import
each other; `from mlgate.gate import GateInputError` keeps working.
"""

from __future__ import annotations

from pathlib import Path


class GateInputError(Exception):
    """Bad input: names the file, the field (or line) and what to do instead."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        fix: str | None = None,
        line: int | None = None,
        reason: str = "invalid-input",
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.field = field
        self.fix = fix
        self.line = line
        self.reason = reason
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        text = f"{where}: {self.problem}" if where else self.problem
        return f"{text} — {self.fix}" if self.fix else text
