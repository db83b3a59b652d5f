"""`mlgate validate-data`: run the project's Great Expectations 1.x checkpoint against a dataset.

Inputs: `--data` (CSV or Parquet; default `data.dataset`), `--config` (mlgate.yaml section `data`),
`--engine` (pandas | spark), `--checkpoint`, `--gx-root` (the directory holding `gx/`).
Outputs: `passed`, `failure-reason`, `failed-expectations` (count), `failed-expectation-types`,
`data-docs-path` (the built Data Docs site, for artifact upload), `result-path`, `report-path`.

The suites, validation definitions and checkpoint stay in GX's own file layout (`gx/`), so GX's tools keep
working on them. mlgate opens the context with `gx.get_context(mode="file", project_root_dir=…)`, runs the
checkpoint's validation definitions on the dataset as a dataframe exactly as `Checkpoint.run` does (same
run id, result format and stored results), and turns the result into one Markdown table: each expectation
with pass/fail, its observed value and a few offending rows, with values masked for the columns listed in
`data.sensitive_columns` (also in the stored results, so the Data Docs carry no sensitive values either).
The verdict is written first; then the checkpoint's actions run: Data Docs for this run's pages only
(result, suite, index; GX's templates compiled once and kept in jinja's on-disk bytecode cache), then
any other action. Numeric columns skip GX's per-value `Decimal` scan (same answers). Every change to GX's
own behaviour lives in `mlgate.data.gx_patches`, each one guarded.

Before GX is imported (10-15 s), the inputs are checked cheaply: the dataset exists, is readable and has
every column the suites name; the checkpoint, its validation definitions and suites are valid JSON.
The pandas engine needs the dataset in memory: a larger dataset fails with `too-large` and the Spark
suggestion. The Spark engine (`engine: spark`, pyspark installed) runs the same suites on a Spark
DataFrame through a Spark data source and a `<checkpoint>-spark` checkpoint that mlgate keeps in `gx/`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from mlgate.data.config import DataSection
from mlgate.data.dataset import (
    check_exists,
    check_fits_in_memory,
    data_format,
    dataset_path,
    read_pandas,
    read_spark,
    schema,
)
from mlgate.data.gx_patches import (
    compiled_templates,
    file_context,
    no_decimal_scan_of_numeric_arrays,
    quiet_suite_loading,
)
from mlgate.data.validate_report import build_result, mask_result
from mlgate.gate import (
    COMMON_FAILURE_REASONS,
    GateInputError,
    GateResult,
    comment_option,
    config_option,
    finish,
    path_option,
    report_dir_option,
    run_gate,
)

#: every failure-reason this gate reports -> its one-line meaning (docs/reference/failure-reasons.md
#: is generated from this: add a reason with one line here, then `uv run python tools/docgen.py --write`)
FAILURE_REASONS: dict[str, str] = {
    **COMMON_FAILURE_REASONS,
    "contract-violated": "at least one expectation failed (see the comment's table)",
    "missing-file": "the dataset or the profile does not exist (not pulled?)",
    "empty-data": "the dataset is an empty file or has no rows",
    "unreadable-data": (
        'not UTF-8 (UTF-16, Latin-1), binary, a Parquet file named `.csv` ("looks like Parquet"), '
        "not a parseable CSV, a damaged Parquet file, a directory, or an unsupported file type"
    ),
    "schema-mismatch": (
        "a column the suites or the profile name is missing, a column is not in the profile, a column's "
        "type changed, a column name appears twice, or the header is one column of a `;`-, pipe- or "
        "tab-delimited file (the delimiter is named)"
    ),
    "invalid-suite": (
        "the GX project, checkpoint, validation definition or suite is missing or malformed (file and line "
        "named), or an expectation is one GX does not understand (the suite file, index and type are named)"
    ),
    "too-large": "the dataset does not fit in memory for the pandas engine: use `engine: spark`",
    "engine-unavailable": "the Spark engine was asked for but pyspark or Java is missing",
    "gx-error": (
        "Great Expectations itself failed while validating "
        "(the error is named; run the checkpoint with GX to debug)"
    ),
}


# --- cheap checks before GX is imported ------------------------------------------------------------------


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise GateInputError(
            f"{what} not found",
            file=path,
            fix="create it with GX (`gx.get_context(mode='file')`) or fix the name",
            reason="invalid-suite",
        )
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GateInputError(
            f"{what} is not valid JSON ({exc.msg})",
            file=path,
            line=exc.lineno,
            fix="fix the JSON at that line",
            reason="invalid-suite",
        ) from None
    except UnicodeDecodeError:
        raise GateInputError(
            f"{what} is not UTF-8", file=path, fix="save it as UTF-8", reason="invalid-suite"
        ) from None
    if not isinstance(loaded, dict):
        raise GateInputError(
            f"{what} must be a JSON object", file=path, fix="fix its structure", reason="invalid-suite"
        )
    return loaded


@dataclass
class ContractFiles:
    checkpoint: dict[str, Any]
    suites: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: suite name -> its file
    suite_paths: dict[str, Path] = field(default_factory=dict)

    def columns(self) -> dict[str, str]:
        """Column -> suite name, for every column an expectation names."""
        found: dict[str, str] = {}
        for suite_name, suite in self.suites.items():
            for exp in suite.get("expectations", []):
                kwargs = exp.get("kwargs", {})
                names = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
                names += list(kwargs.get("column_list") or [])
                for name in names:
                    if isinstance(name, str):
                        found.setdefault(name, suite_name)
        return found


def read_contract(gx_dir: Path, checkpoint: str) -> ContractFiles:
    """Read the checkpoint, its validation definitions and suites as plain JSON (no GX import)."""
    if not (gx_dir / "great_expectations.yml").is_file():
        raise GateInputError(
            "no GX project here (great_expectations.yml missing)",
            file=gx_dir,
            fix="set `data.gx_root` to the directory that holds gx/",
            reason="invalid-suite",
        )
    cp = _read_json(gx_dir / "checkpoints" / f"{checkpoint}.json", f"checkpoint {checkpoint!r}")
    files = ContractFiles(checkpoint=cp)
    vds = cp.get("validation_definitions")
    if not isinstance(vds, list) or not vds:
        raise GateInputError(
            "checkpoint has no validation definitions",
            file=gx_dir / "checkpoints" / f"{checkpoint}.json",
            field="validation_definitions",
            fix="add one (GX `ValidationDefinition`)",
            reason="invalid-suite",
        )
    for ref in vds:
        vd_path = gx_dir / "validation_definitions" / f"{ref.get('name')}.json"
        vd = _read_json(vd_path, "validation definition")
        suite_name = str((vd.get("suite") or {}).get("name", ""))
        suite_path = gx_dir / "expectations" / f"{suite_name}.json"
        suite = _read_json(suite_path, f"expectation suite {suite_name!r}")
        expectations = suite.get("expectations")
        if not isinstance(expectations, list):
            raise GateInputError(
                "suite has no `expectations` list",
                file=suite_path,
                field="expectations",
                fix="fix the suite with GX",
                reason="invalid-suite",
            )
        for index, exp in enumerate(expectations):
            if not isinstance(exp, dict) or not str(exp.get("type", "")).startswith("expect_"):
                raise GateInputError(
                    "expectation has no valid `type`",
                    file=suite_path,
                    field=f"expectations[{index}]",
                    fix="give it a GX expectation type such as `expect_column_values_to_not_be_null`",
                    reason="invalid-suite",
                )
            if not isinstance(exp.get("kwargs", {}), dict):
                raise GateInputError(
                    "expectation `kwargs` must be an object",
                    file=suite_path,
                    field=f"expectations[{index}] ({exp['type']})",
                    fix='give its arguments as an object, e.g. `"kwargs": {"column": "amount"}`',
                    reason="invalid-suite",
                )
        files.suites[suite_name] = suite
        files.suite_paths[suite_name] = suite_path
    return files


def check_expectations(contract: ContractFiles) -> None:
    """Every expectation of every suite must be one GX understands, with a valid configuration.

    GX itself drops an expectation it cannot build (an unknown type, bad kwargs) with a logged traceback
    and validates the rest, so a suite could pass while ignoring part of the contract. Here each one is
    built as GX builds it when it loads the suite (`ExpectationConfiguration(**entry).to_domain_obj()`),
    and the first that fails is `invalid-suite`, naming the suite file, its index and type."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    for suite_name, suite in contract.suites.items():
        path = contract.suite_paths.get(suite_name, Path(f"{suite_name}.json"))
        for index, entry in enumerate(suite.get("expectations", [])):
            kind = str(entry.get("type", ""))
            try:
                ExpectationConfiguration(**entry).to_domain_obj()
            except Exception as exc:  # noqa: BLE001 - GX raises not-found, pydantic and type errors alike
                first = str(getattr(exc, "message", "") or exc).strip().splitlines()
                raise GateInputError(
                    f"Great Expectations cannot use this expectation ({type(exc).__name__}: "
                    f"{(first[0] if first else '')[:160]})",
                    file=path,
                    field=f"expectations[{index}] ({kind})",
                    fix="fix its type or arguments (GX drops an expectation it does not understand, "
                    "so the suite would not check it)",
                    reason="invalid-suite",
                ) from None


def check_columns(data: Path, contract: ContractFiles) -> list[str]:
    """The dataset's columns; every column the suites name must be among them."""
    names = list(schema(data).names)
    for column, suite in contract.columns().items():
        if column not in names:
            raise GateInputError(
                f"column named by suite {suite!r} is missing from the data",
                file=data,
                field=column,
                fix="restore the column, or change the suite if the contract changed",
                reason="schema-mismatch",
            )
    return names


# --- reading and running -----------------------------------------------------------------------------------


def _spark_checkpoint(context: Any, checkpoint: Any) -> Any:
    """A `<name>-spark` twin of the checkpoint: same suites, actions and result format, on a Spark
    dataframe asset (kept in gx/ like any GX object)."""
    import great_expectations as gx

    source = context.data_sources.add_or_update_spark(name="mlgate-spark")
    asset = next((a for a in source.assets if a.name == "dataset"), None) or source.add_dataframe_asset(
        name="dataset"
    )
    batch = next((b for b in asset.batch_definitions if b.name == "whole"), None) or (
        asset.add_batch_definition_whole_dataframe(name="whole")
    )
    definitions = [
        context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{vd.name}-spark", data=batch, suite=vd.suite)
        )
        for vd in checkpoint.validation_definitions
    ]
    twin = gx.Checkpoint(
        name=f"{checkpoint.name}-spark",
        validation_definitions=definitions,
        actions=list(checkpoint.actions),
        result_format=checkpoint.result_format,
    )
    return context.checkpoints.add_or_update(twin)


def open_checkpoint(root: Path, name: str, *, engine: str) -> tuple[Any, Any]:
    """Open the file context and load the checkpoint (its Spark twin for the spark engine)."""

    try:
        context = file_context(root)
        with quiet_suite_loading():
            checkpoint = context.checkpoints.get(name)
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # CI logs get no progress bars (this run only; great_expectations.yml is not rewritten)
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except Exception as exc:  # noqa: BLE001 - GX raises many error types for a broken project
        raise GateInputError(
            f"GX cannot load the project ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
            file=root / "gx",
            field=name,
            fix="check the files with GX",
            reason="invalid-suite",
        ) from None
    if engine == "spark":
        checkpoint = _spark_checkpoint(context, checkpoint)
    return context, checkpoint


def check_all_expectations_loaded(checkpoint: Any, contract: ContractFiles) -> None:
    """The suites GX loaded hold every expectation their files list: none dropped on the way."""
    for definition in checkpoint.validation_definitions:
        suite = definition.suite
        if suite.name not in contract.suites:  # not one read from its file (nothing to compare with)
            continue
        listed = contract.suites[suite.name].get("expectations", [])
        if len(suite.expectations) != len(listed):
            raise GateInputError(
                f"GX loaded {len(suite.expectations)} of the {len(listed)} expectations in the suite",
                file=contract.suite_paths.get(suite.name, Path(f"{suite.name}.json")),
                field="expectations",
                fix="fix the expectations GX cannot read (run the suite with GX to see which)",
                reason="invalid-suite",
            )


@dataclass
class CheckpointRun:
    """One run of a checkpoint's validation definitions; its actions run later, in `publish`."""

    context: Any
    checkpoint: Any
    result: Any  # great_expectations CheckpointResult
    seconds: float
    docs_actions: list[Any]  # the checkpoint's UpdateDataDocsActions
    docs_path: str  # the first local Data Docs site they update ("" if none)

    def json_results(self) -> list[dict[str, Any]]:
        return [r.to_json_dict() for r in self.result.run_results.values()]


def run_validations(
    root: Path, name: str, frame: Any, *, engine: str, contract: ContractFiles | None = None
) -> CheckpointRun:
    """Run the checkpoint's validation definitions on `frame` exactly as `Checkpoint.run` does (same
    run id, result format, stored results and result keys) but without its actions: Data Docs and any
    other action run in `publish`, after sensitive values are masked and the verdict is out."""
    import datetime as dt

    from great_expectations.checkpoint.checkpoint import CheckpointResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context, checkpoint = open_checkpoint(root, name, engine=engine)
    if contract is not None:
        check_all_expectations_loaded(checkpoint, contract)
    asset_types = {getattr(vd.asset, "type", "") for vd in checkpoint.validation_definitions}
    params = {"dataframe": frame} if asset_types & {"dataframe"} else {}
    started = time.perf_counter()
    try:
        with no_decimal_scan_of_numeric_arrays():
            run_id = RunIdentifier(run_time=dt.datetime.now(dt.UTC))
            results: dict[Any, Any] = {}
            for definition in checkpoint.validation_definitions:
                result = definition.run(
                    checkpoint_id=checkpoint.id,
                    batch_parameters=params,
                    result_format=checkpoint.result_format,
                    run_id=run_id,
                )
                result.meta["checkpoint_id"] = checkpoint.id
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=definition.suite.name),
                    run_id=run_id,
                    batch_identifier=result.batch_id,
                )
                results[key] = result
        outcome = CheckpointResult(run_id=run_id, run_results=results, checkpoint_config=checkpoint)
    except Exception as exc:  # noqa: BLE001 - a GX failure is reported as one line, never a traceback
        first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise GateInputError(
            f"Great Expectations failed while validating ({type(exc).__name__}: {first_line})",
            file=root / "gx" / "checkpoints" / f"{name}.json",
            fix="run the checkpoint with GX directly to debug it",
            reason="gx-error",
        ) from None
    seconds = time.perf_counter() - started
    docs_actions = _docs_actions(checkpoint)
    return CheckpointRun(
        context, checkpoint, outcome, seconds, docs_actions, _docs_site(context, docs_actions)
    )


def _docs_actions(checkpoint: Any) -> list[Any]:
    from great_expectations.checkpoint.actions import UpdateDataDocsAction

    return [a for a in checkpoint.actions if isinstance(a, UpdateDataDocsAction)]


def _docs_site(context: Any, docs_actions: list[Any]) -> str:
    """Directory of the first local Data Docs site the checkpoint's docs actions update ("" if none)."""
    if not docs_actions:
        return ""
    names = sorted({n for a in docs_actions for n in a.site_names}) or None
    sites = context.get_docs_sites_urls(only_if_exists=False, site_names=names)
    for site in sites:
        url = site.get("site_url")
        if isinstance(url, str) and url.startswith("file://"):
            return str(Path(url.removeprefix("file://")).parent)
    return ""


def mask_run(run: CheckpointRun, sensitive: set[str]) -> None:
    """Mask sensitive values in this run's results, in memory and in GX's results store (the Data Docs
    and any action read them from there)."""
    if not sensitive:
        return
    store = run.context.validation_results_store
    for key, suite_result in run.result.run_results.items():
        for item in suite_result.results:
            config = item.expectation_config.to_json_dict() if item.expectation_config else {}
            item.result = mask_result(item.result or {}, config, sensitive)
        store.set(key, suite_result)


def publish(run: CheckpointRun) -> float:
    """The checkpoint's actions for this run, as `Checkpoint.run` orders them: Data Docs first (only this
    run's result and suite pages plus the index, as GX's UpdateDataDocsAction builds them), then the
    others. Returns the seconds spent."""
    from great_expectations.checkpoint.actions import ActionContext

    started = time.perf_counter()
    if run.docs_actions:
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        identifiers: list[Any] = []
        for key, suite_result in run.result.run_results.items():
            identifiers += [key, ExpectationSuiteIdentifier(name=suite_result.suite_name)]
        with compiled_templates():
            for action in run.docs_actions:
                run.context.build_data_docs(
                    site_names=action.site_names or None, resource_identifiers=identifiers, build_index=True
                )
    others = [a for a in run.checkpoint.actions if not any(a is d for d in run.docs_actions)]
    action_context = ActionContext()
    for action in others:
        action._data_context = run.context  # what Checkpoint.run sets before running an action
        outcome = action.run(checkpoint_result=run.result, action_context=action_context)
        action_context.update(action=action, action_result=outcome)
    return time.perf_counter() - started


@dataclass
class Validation:
    """A checkpoint run turned into the gate's result; `publish` then runs the checkpoint's actions
    (Data Docs first). `timings` holds seconds per phase: read, validate, report, data_docs."""

    result: GateResult
    run: CheckpointRun
    timings: dict[str, float] = field(default_factory=dict)

    def publish(self) -> None:
        self.timings["data_docs"] = publish(self.run)


def check_and_validate(
    data: Path,
    section: DataSection,
    *,
    engine: str | None = None,
    checkpoint: str | None = None,
    gx_root: Path | None = None,
) -> Validation:
    """Check the inputs, read the data, run the checkpoint's validations, mask and build the result.
    The checkpoint's actions (Data Docs) are left to `Validation.publish`."""
    engine = engine or section.engine
    name = checkpoint or section.checkpoint
    root = gx_root or Path(section.gx_root)
    started = time.perf_counter()
    check_exists(data)
    data_format(data)
    contract = read_contract(root / "gx", name)
    columns = check_columns(data, contract)
    check_expectations(contract)
    if engine == "pandas":
        limit = section.max_memory_mb * 2**20 if section.max_memory_mb else None
        check_fits_in_memory(data, limit=limit)
        frame = read_pandas(data)
    else:
        frame = read_spark(data, section.spark_master)
    read = time.perf_counter()
    run = run_validations(root, name, frame, engine=engine, contract=contract)
    validated = time.perf_counter()
    sensitive = set(section.sensitive_columns)
    mask_run(run, sensitive)
    result = build_result(
        run.json_results(),
        data=data,
        engine=engine,
        rows=section.unexpected_rows,
        sensitive=sensitive,
        docs=run.docs_path,
        checkpoint=name,
        seconds=run.seconds,
        unchecked=[c for c in columns if c not in contract.columns()],
    )
    timings = {
        "read": read - started,
        "validate": validated - read,
        "report": time.perf_counter() - validated,
    }
    return Validation(result, run, timings)


@click.command("validate-data")
@path_option("--data", "data", help="Dataset to validate [default: data.dataset in mlgate.yaml].")
@config_option("data")
@click.option(
    "--engine",
    type=click.Choice(["pandas", "spark"]),
    default=None,
    envvar="MLGATE_ENGINE",
    help="Execution engine [default: data.engine].",
)
@click.option(
    "--checkpoint", default=None, envvar="MLGATE_CHECKPOINT", help="GX checkpoint [default: data.checkpoint]."
)
@path_option("--gx-root", help="Directory holding gx/ [default: data.gx_root].")
@report_dir_option(help="Where the JSON result and report go.")
@comment_option(False, help="Upsert the report as a PR comment.")
def command(
    *,
    data: Path | None,
    config_path: Path,
    engine: str | None,
    checkpoint: str | None,
    gx_root: Path | None,
    report_dir: Path,
    comment: bool,
) -> int:
    """Validate a dataset against the project's Great Expectations checkpoint."""

    def work() -> int:
        from mlgate.config import load_section

        section = load_section(config_path, "data", DataSection)
        path = dataset_path(data, config_path, section)
        validation = check_and_validate(path, section, engine=engine, checkpoint=checkpoint, gx_root=gx_root)
        # the verdict first (outputs, report, summary, comment); then the Data Docs of this run
        code = finish(validation.result, report_dir=report_dir, comment_key=str(path) if comment else None)
        try:
            validation.publish()
        except Exception as exc:  # noqa: BLE001 - the verdict stands; a failed action is a warning
            from mlgate import github

            first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
            github.Runner.from_env().warning(
                f"the checkpoint's actions (Data Docs) failed: {type(exc).__name__}: {first_line}",
                title="mlgate validate-data",
            )
        return code

    return run_gate("validate-data", work)
