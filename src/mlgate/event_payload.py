"""The GitHub Actions event payload (`$GITHUB_EVENT_PATH`), validated where mlgate reads it.

`read_event(path)` → the payload as a dict, or an `EventPayloadError` naming the field and the problem in
one line: a missing or unreadable file, bytes that are not UTF-8 JSON, a payload that is not an object,
or a field mlgate reads with the wrong type (`pull_request.number`, `issue.number`,
`head_commit.message`). Every other field is left as GitHub sent it.

Only `mlgate.github` calls this (it alone knows where the payload is); it turns the error into a
`GateInputError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class EventPayloadError(ValueError):
    """The payload cannot be read: `field` (may be empty) and `problem`, one line."""

    def __init__(self, problem: str, field: str = "") -> None:
        self.problem, self.field = problem, field
        super().__init__(f"{field}: {problem}" if field else problem)


class _Numbered(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    number: int | None = Field(None, gt=0)


class _HeadCommit(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    message: str = ""


class EventPayload(BaseModel):
    """The fields mlgate reads; strict, so `"7"` is not a pull request number and `true` is not 1."""

    model_config = ConfigDict(extra="allow", strict=True)

    pull_request: _Numbered | None = None
    issue: _Numbered | None = None
    head_commit: _HeadCommit | None = None


def parse_event(raw: bytes | str) -> dict[str, Any]:
    """Event payload bytes (or text) → the payload, or `EventPayloadError`."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventPayloadError(f"is not UTF-8 text (byte {exc.start})") from None
    if not raw.strip():
        raise EventPayloadError("is empty, not a JSON object")
    try:
        loaded = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EventPayloadError(f"is not JSON ({first})") from None
    if not isinstance(loaded, dict):
        kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        raise EventPayloadError(f"is {kinds.get(type(loaded), 'a number')}, not a JSON object")
    try:
        EventPayload.model_validate(loaded)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        where = where.lstrip(".")
        raise EventPayloadError(
            f"{error['msg']} (got {_short(error.get('input'))})".replace("\n", " "), where
        ) from None
    return loaded


def read_event(path: Path) -> dict[str, Any]:
    """The payload at `path`, or `EventPayloadError` (missing, unreadable, malformed)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise EventPayloadError("does not exist") from None
    except IsADirectoryError:
        raise EventPayloadError("is a directory, not a file") from None
    except OSError as exc:
        raise EventPayloadError(f"cannot be read ({exc.strerror or exc})") from None
    return parse_event(raw)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
