"""The shape of `terraform show -json PLANFILE`, checked before a plan is summarised.

`parse_plan(raw)` → the plan as a dict, or a `PlanFormatError` (one line naming the field) for anything
that is not a Terraform JSON plan of format version 1.x: empty or malformed JSON, a byte-order mark, a
JSON array / string / object without `format_version`, `resource_changes` that is not a list, `actions`
that is not a list of Terraform's action names, sensitivity or unknown markers that are not
`true`/`false`/objects/arrays of them. A plan the gate cannot fully understand is refused
(`invalid-plan`), never summarised as "No changes".

The models cover the fields `mlgate.terraform.plan_summary` reads, strictly (no coercion: `"true"` is not a
boolean); every other field is kept as Terraform wrote it. Reference: Terraform's "JSON Output Format"
(internal/command/jsonplan), format version 1.x.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

#: the JSON plan format versions this module understands (major version)
SUPPORTED_MAJOR = "1"
#: deeper nesting than this is refused before any recursive walk (Terraform values nest a few levels)
MAX_DEPTH = 100

Action = Literal["no-op", "create", "read", "update", "delete", "forget"]


class PlanFormatError(ValueError):
    """Not a Terraform JSON plan we can judge: `field` (may be empty) and `problem`, one line."""

    def __init__(self, problem: str, field: str = "") -> None:
        self.problem, self.field = problem, field
        super().__init__(f"{field}: {problem}" if field else problem)


def _marker(value: Any) -> Any:
    """Terraform's `*_sensitive` / `after_unknown` markers: booleans, or objects / arrays of markers."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif not isinstance(item, bool):
            raise ValueError(f"must be true, false or an object / array of them, not {type(item).__name__}")
    return value


Marker = Annotated[Any, AfterValidator(_marker)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Change(_Strict):
    actions: list[Action] = Field(min_length=1, max_length=2)
    before: Any = None
    after: Any = None
    after_unknown: Marker = False
    before_sensitive: Marker = False
    after_sensitive: Marker = False
    importing: dict[str, Any] | None = None
    replace_paths: list[Any] | None = None


class ResourceChange(_Strict):
    address: str = Field(min_length=1)
    previous_address: str | None = None
    action_reason: str | None = None
    change: Change


class Variable(_Strict):
    value: Any = None


class TerraformPlan(_Strict):
    format_version: str
    terraform_version: str
    resource_changes: list[ResourceChange] = Field(default_factory=list)
    resource_drift: list[ResourceChange] = Field(default_factory=list)
    output_changes: dict[str, Change] = Field(default_factory=dict)
    variables: dict[str, Variable] = Field(default_factory=dict)
    configuration: dict[str, Any] = Field(default_factory=dict)
    errored: bool = False


def _depth_within(value: Any, limit: int) -> bool:
    """Whether `value` nests at most `limit` levels of objects / arrays (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def validate_plan(plan: Any) -> dict[str, Any]:
    """A decoded JSON value → the plan (unchanged), or `PlanFormatError`."""
    if not _depth_within(plan, MAX_DEPTH):
        raise PlanFormatError(f"nests objects or arrays deeper than {MAX_DEPTH} levels: not a Terraform plan")
    if not isinstance(plan, dict):
        kind = _describe(plan, show_value=False)
        raise PlanFormatError(f"is {kind}, not a Terraform plan object (`terraform show -json`)")
    try:
        TerraformPlan.model_validate(plan)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        where = where.lstrip(".")
        # a plan holds secrets: name the type of what was found, its value only for action names
        got = error.get("input")
        shown = "" if error["type"] == "missing" else f" (got {_describe(got, 'actions' in error['loc'])})"
        raise PlanFormatError(f"{error['msg']}{shown}".replace("\n", " "), where) from None
    except RecursionError:
        raise PlanFormatError("is nested too deeply to be a Terraform plan") from None
    major = str(plan["format_version"]).split(".")[0]
    if major != SUPPORTED_MAJOR:
        raise PlanFormatError(
            f"is {plan['format_version']!r}; mlgate reads JSON plan format {SUPPORTED_MAJOR}.x",
            "format_version",
        )
    return plan


def parse_plan(raw: bytes | str) -> dict[str, Any]:
    """`terraform show -json` output → the validated plan, or `PlanFormatError`."""
    if isinstance(raw, bytes):
        if raw.startswith(b"\xef\xbb\xbf"):
            raise PlanFormatError("starts with a byte-order mark; Terraform writes plain UTF-8 JSON")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PlanFormatError(f"is not UTF-8 text (byte {exc.start})") from None
    if raw.startswith("\ufeff"):
        raise PlanFormatError("starts with a byte-order mark; Terraform writes plain UTF-8 JSON")
    if not raw.strip():
        raise PlanFormatError("is empty, not a JSON plan")
    try:
        loaded = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PlanFormatError(f"is not JSON ({first})") from None
    return validate_plan(loaded)


def _describe(value: Any, show_value: bool) -> str:
    if show_value and isinstance(value, str) and len(value) <= 20:
        return repr(value)
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)
