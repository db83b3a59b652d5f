"""`mlgate.yaml`: one configuration file for every gate, validated by pydantic, published as JSON Schema.

Each gate owns its section: it defines a pydantic model in its own module (light imports only) and
registers it in `SECTIONS` with one line. `load_section()` reads one section and turns every validation
problem into a one-line `GateInputError` naming the file, the field and the fix.

    mlgate config schema [--output FILE]   print (or write) the JSON Schema of mlgate.yaml
    mlgate config check [--config FILE]    validate a mlgate.yaml

Reading is strict: a file named with `--config` (or `MLGATE_CONFIG`) must exist — only the implicit
default `mlgate.yaml` may be absent, and then every gate runs on its section's defaults (except the
gates that cannot judge without their section, which say so: `eval-gate` needs `eval`). A key given twice
is an error naming the key and both lines, and every number must be finite (`allow_inf_nan=False`).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pydantic_core import ErrorDetails

from mlgate import __version__
from mlgate.gate import DEFAULT_CONFIG, GateInputError, output_file_callback

#: section name in mlgate.yaml -> "module:Model" (a pydantic model with extra="forbid")
SECTIONS: dict[str, str] = {
    "eval": "mlgate.eval_gate.config:EvalSection",
    "terraform": "mlgate.terraform.planning:TerraformSection",
    "data": "mlgate.validate_data:DataSection",
    "drift": "mlgate.drift_config:DriftSection",
    "canary": "mlgate.canary.config:CanarySection",
    "registry": "mlgate.registry.config:RegistrySection",
}

#: where the schema of this release is published: the file at the release tag (`$schema` in generated
#: mlgate.yaml files points here too); `tools/release.py check` keeps the tag equal to the package version
SCHEMA_ID = f"https://raw.githubusercontent.com/mlgate-dev/mlgate/v{__version__}/schema/mlgate.schema.json"

M = TypeVar("M", bound=BaseModel)


class Section(BaseModel):
    """Base for a gate's section: unknown keys are errors, so typos never pass silently, and every float
    must be finite (`.inf` / `.nan` are refused wherever a number is expected)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's when available: ~8x faster), refusing a mapping that gives the same
    key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key `{_name(key)}` on line {key_node.start_mark.line + 1} "
                    f"(first given on line {first + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _name(key: Any) -> str:
    """A key as it can be shown on one line (odd keys quoted)."""
    text = str(key)
    return text if text.isprintable() and text.strip() == text and text else repr(key)


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section_model(name: str) -> type[BaseModel]:
    module_name, _, attribute = SECTIONS[name].partition(":")
    model = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):  # pragma: no cover
        raise TypeError(f"{SECTIONS[name]} is not a pydantic model")
    return model


def config_model() -> type[BaseModel]:
    """The model of the whole file: every registered section, each optional."""
    fields: dict[str, Any] = {name: (_section_model(name) | None, None) for name in sorted(SECTIONS)}
    fields["schema_"] = (str | None, None)
    model: type[BaseModel] = create_model(
        "MlgateConfig",
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        **fields,
    )
    return model


def json_schema() -> dict[str, Any]:
    schema = config_model().model_json_schema(by_alias=True)
    props = schema.setdefault("properties", {})
    props.pop("schema_", None)
    props["$schema"] = {
        "type": "string",
        "description": "URL or path of this JSON Schema (editor completion).",
    }
    schema["$id"] = SCHEMA_ID
    schema["title"] = "mlgate.yaml"
    schema["description"] = "Configuration of every mlgate gate. Each top-level key is one gate's section."
    return schema


def is_implicit_default(path: Path) -> bool:
    """True for the default `mlgate.yaml` (the only configuration file that may be absent)."""
    return Path(path) == DEFAULT_CONFIG


def read_config(path: Path) -> dict[str, Any]:
    """The raw mapping in `path`.

    A missing `mlgate.yaml` (the implicit default) is an empty configuration; any other missing path,
    a directory, duplicate keys or invalid YAML is a `GateInputError` naming the file (and line).
    """
    if not path.exists():
        if is_implicit_default(path):
            return {}
        raise GateInputError(
            "does not exist", file=path, fix="create it or pass the right file to --config / MLGATE_CONFIG"
        )
    if not path.is_file():
        raise GateInputError("is not a file", file=path, fix="pass the mlgate.yaml file itself to --config")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except UnicodeDecodeError:
        raise GateInputError("is not UTF-8 text", file=path, fix="save the file as UTF-8") from None
    except OSError as exc:
        raise GateInputError(
            f"cannot be read ({exc.strerror or exc})", file=path, fix="check the file's permissions"
        ) from None
    except RecursionError:
        raise GateInputError("is nested too deeply", file=path, fix="flatten the YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "is not valid YAML"
        raise GateInputError(
            f"invalid YAML ({problem})", file=path, line=line, fix="fix the YAML syntax at that line"
        ) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise GateInputError(
            "must be a mapping of gate sections", file=path, fix="start the file with keys such as `eval:`"
        )
    return raw


def _explain(error: ErrorDetails) -> tuple[str, str]:
    where = ".".join(_name(part) for part in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return where, "unknown key — remove it or check its spelling against the JSON Schema"
    if kind == "missing":
        return where, "is required — add it"
    return where, f"{error['msg']} (got {_shown(error.get('input'))})"


def validate_section(raw: Any, name: str, model: type[M], *, file: Path) -> M:
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where, problem = _explain(first)
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        field = f"{name}.{where}" if where else name
        raise GateInputError(
            f"{problem}{more}", file=file, field=field, fix="see `mlgate config schema` for allowed values"
        ) from None


def load_section(path: Path, name: str, model: type[M], *, required: bool = False) -> M:
    """Read one gate's section of `mlgate.yaml` (defaults when the section, or the default file, is absent).

    `required=True` is for gates whose defaults cannot judge anything: a missing section is an error.
    """
    raw = read_config(path)
    if not raw and not required and is_implicit_default(path) and not path.exists():
        from mlgate import github

        github.Runner.from_env().annotate(
            "notice", f"{path} not found: section `{name}` uses its defaults", title="mlgate config"
        )
    if required and raw.get(name) is None:
        missing = "does not exist" if not path.exists() else f"has no `{name}` section"
        raise GateInputError(
            f"{missing}; the {name} gate cannot judge on defaults",
            file=path,
            field=None if not path.exists() else name,
            fix=f"add an `{name}:` section (see `mlgate config schema`)",
        )
    return validate_section(raw.get(name), name, model, file=path)


def check_config(path: Path) -> list[str]:
    """Validate every section of `path`; returns the names of the sections present."""
    raw = read_config(path)
    unknown = sorted((_name(key) for key in set(raw) - set(SECTIONS) - {"$schema"}), key=str)
    if unknown:
        raise GateInputError(
            "unknown section",
            file=path,
            field=unknown[0],
            fix=f"use one of: {', '.join(sorted(SECTIONS)) or '(none registered)'}",
        )
    for name in SECTIONS:
        if name in raw:
            validate_section(raw[name], name, _section_model(name), file=path)
    return sorted(set(raw) & set(SECTIONS))


@click.group("config")
def command() -> None:
    """Inspect and validate mlgate.yaml."""


@command.command("schema")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    callback=output_file_callback,
    help="Write to this file (missing parent directories are created).",
)
def schema_command(output: Path | None) -> None:
    """Print the JSON Schema of mlgate.yaml."""
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")


@command.command("check")
@click.option(
    "--config",
    "path",
    type=click.Path(path_type=Path),
    default=DEFAULT_CONFIG,
    envvar="MLGATE_CONFIG",
    show_default=True,
    help="The file to validate.",
)
def check_command(path: Path) -> int:
    """Validate mlgate.yaml against every gate's section model."""
    from mlgate.gate import run_gate

    def work() -> int:
        if not path.exists() and is_implicit_default(path):
            click.echo(f"{path}: not found; every gate uses its defaults (eval-gate needs an `eval` section)")
            return 0
        sections = check_config(path)
        click.echo(f"{path}: valid ({', '.join(sections) or 'no sections; defaults apply'})")
        return 0

    return run_gate("config", work)
