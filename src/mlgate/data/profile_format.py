"""The reference profile's file format (schema version 1): read (`load_profile`, validated field by field),
written atomically (`write_profile`).

`mlgate profile` writes the profile and `mlgate drift` trusts what it reads, so a damaged profile (a
hand edit, a bad merge, a truncated upload) must be refused before any statistic is computed: wrong
types, a missing sketch, histogram counts that do not match their bins or the column's count, unsorted
or non-finite values. `validate_profile` checks a loaded mapping against the models below and raises
one `GateInputError` (`invalid-profile`) naming the profile file and the first bad field, such as
`columns.amount.histogram.counts`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlgate import __version__
from mlgate.gate import GateInputError

#: the profile format this version writes and reads; bump on any incompatible change
SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = (1,)

_STRICT = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore", frozen=True)

Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]


def _increasing(values: list[float], what: str) -> None:
    import numpy as np

    if len(values) > 1 and not bool(np.all(np.diff(np.asarray(values, dtype=np.float64)) > 0)):
        raise ValueError(f"{what} must be strictly increasing")


class Histogram(BaseModel):
    model_config = _STRICT

    edges: list[float]
    counts: list[Count]

    @model_validator(mode="after")
    def _bins(self) -> Histogram:
        _increasing(self.edges, "edges")
        if len(self.counts) != len(self.edges) + 1:
            raise ValueError(
                f"{len(self.counts)} counts for {len(self.edges)} edges: a histogram has one count per "
                "bin, len(edges) + 1"
            )
        return self


class Sketch(BaseModel):
    model_config = _STRICT

    values: Annotated[list[float], Field(min_length=1)]
    weights: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)]
    error_bound: Share
    exact: bool

    @model_validator(mode="after")
    def _points(self) -> Sketch:
        _increasing(self.values, "values")
        if len(self.values) != len(self.weights):
            raise ValueError(f"{len(self.values)} values but {len(self.weights)} weights")
        if self.exact and self.error_bound != 0:
            raise ValueError("an exact sketch has error_bound 0")
        return self


class _Column(BaseModel):
    model_config = _STRICT

    dtype: str
    count: Annotated[int, Field(ge=1)]
    nulls: Count
    null_rate: Share


class NumericColumn(_Column):
    kind: Literal["numeric"]
    min: float
    max: float
    mean: float
    std: Annotated[float, Field(ge=0)]
    quantiles: dict[str, float]
    histogram: Histogram
    sketch: Sketch

    @model_validator(mode="after")
    def _totals(self) -> NumericColumn:
        if self.min > self.max:
            raise ValueError("min is above max")
        if sum(self.histogram.counts) != self.count:
            raise ValueError(
                f"histogram counts add up to {sum(self.histogram.counts)}, "
                f"not the column's count {self.count}"
            )
        if sum(self.sketch.weights) != self.count:
            raise ValueError(
                f"sketch weights add up to {sum(self.sketch.weights)}, not the column's count {self.count}"
            )
        return self


class CategoricalColumn(_Column):
    kind: Literal["categorical"]
    distinct: Count | None = None
    distinct_at_least: Count
    categories: dict[str, Count]
    other_count: Count
    id_like: bool

    @model_validator(mode="after")
    def _totals(self) -> CategoricalColumn:
        total = sum(self.categories.values()) + self.other_count
        if total != self.count:
            raise ValueError(
                f"categories plus other_count add up to {total}, not the column's count {self.count}"
            )
        return self


class SkippedColumn(BaseModel):
    model_config = _STRICT

    kind: Literal["skipped"]
    dtype: str = ""
    reason: str = ""


Column = Annotated[NumericColumn | CategoricalColumn | SkippedColumn, Field(discriminator="kind")]


class Source(BaseModel):
    model_config = _STRICT

    path: str
    format: Literal["csv", "parquet"]
    rows: Annotated[int, Field(ge=1)]


class ProfileFile(BaseModel):
    """A whole profile (schema version 1)."""

    model_config = _STRICT

    schema_version: Literal[1]
    mlgate_version: str
    source: Source
    settings: dict[str, Any]
    columns: Annotated[dict[str, Column], Field(min_length=1)]

    @model_validator(mode="after")
    def _rows(self) -> ProfileFile:
        for name, column in self.columns.items():
            if isinstance(column, SkippedColumn):
                continue
            if column.count + column.nulls != self.source.rows:
                raise ValueError(
                    f"column {name!r}: count {column.count} + nulls {column.nulls} is not the "
                    f"profile's {self.source.rows} rows"
                )
        return self


def _where(loc: tuple[int | str, ...]) -> str:
    # pydantic puts the discriminator's value in the path of a tagged union (`columns.a.numeric.min`)
    parts = [str(p) for p in loc]
    if len(parts) >= 3 and parts[0] == "columns" and parts[2] in ("numeric", "categorical", "skipped"):
        del parts[2]
    return ".".join(parts)


def validate_profile(raw: dict[str, Any], *, file: Path) -> ProfileFile:
    """The profile as a model; the first bad field is a `GateInputError` naming the file and field."""
    try:
        return ProfileFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = _where(tuple(error["loc"])) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        shown = "" if isinstance(value, dict | list) else f" (found {_short(value)})"
        raise GateInputError(
            f"damaged profile: {message}{shown}",
            file=file,
            field=field,
            fix="rebuild it with `mlgate profile` (do not edit profiles by hand)",
            reason="invalid-profile",
        ) from None


def _short(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def load_profile(path: Path) -> dict[str, Any]:
    """Read a profile; an unknown schema version or a damaged file is a one-line input error."""
    if not path.exists():
        raise GateInputError(
            "profile not found",
            file=path,
            fix="build it with `mlgate profile --data <trusted data> --output <path>`",
            reason="missing-file",
        )
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise GateInputError(
            "is not valid JSON",
            file=path,
            line=line,
            fix="rebuild it with `mlgate profile`",
            reason="invalid-profile",
        ) from None
    except OSError as exc:
        raise GateInputError(
            f"cannot be read ({exc.strerror or type(exc).__name__})",
            file=path,
            fix="give the profile JSON file (check the path and its permissions)",
            reason="invalid-profile",
        ) from None
    if not isinstance(profile, dict) or "columns" not in profile:
        raise GateInputError(
            "is not an mlgate profile (no `columns`)",
            file=path,
            fix="rebuild it with `mlgate profile`",
            reason="invalid-profile",
        )
    version = profile.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise GateInputError(
            f"profile schema version {version!r} is not supported by mlgate {__version__} "
            f"(supported: {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))})",
            file=path,
            field="schema_version",
            fix="rebuild it with this mlgate (`mlgate profile`), or pin the mlgate version that wrote it",
            reason="unknown-profile-version",
        )
    validate_profile(profile, file=path)
    return profile


def check_output(output: Path) -> None:
    """The profile can be written to `output`: not a directory, and its parent is (or can be made) one."""
    if output.is_dir():
        raise GateInputError(
            "is a directory", file=output, field="--output", fix="give the profile's file name (….json)"
        )
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GateInputError(
                    f"cannot be written: {parent} is a file, not a directory",
                    file=output,
                    field="--output",
                    fix="choose a path under a directory",
                )
            break


def write_profile(profile: dict[str, Any], output: Path) -> None:
    """Write atomically: a failure leaves the previous profile as it was (never a truncated file)."""
    import tempfile

    output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(profile, separators=(",", ":"), allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
