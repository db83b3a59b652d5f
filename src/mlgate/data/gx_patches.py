"""Every change mlgate makes to Great Expectations' own behaviour, in one place, each one guarded.

`mlgate validate-data` runs GX 1.x (pinned to one minor version in `pyproject.toml`: a new minor is a
deliberate, re-tested bump). Four GX behaviours cost seconds or noise a gate run does not need; each is
changed here, only for the length of the call that needs it, and each falls back to GX's own behaviour
when the GX internal it relies on is missing (another GX version), so a GX upgrade can make mlgate slower,
never wrong. Every validate-data test runs through all four; `tests/unit/test_validate_data.py` also
compares the Data Docs pages and the Decimal answers with GX's own.

- `quiet_suite_loading` — GX logs a traceback at ERROR for each expectation it drops while loading a
  suite. mlgate checks every expectation itself beforehand (`validate.check_expectations`) and after
  loading (`validate.check_all_expectations_loaded`) and reports one line, so the logger
  `great_expectations.core.expectation_suite` is set to CRITICAL while the checkpoint loads, then
  restored. Guard: a plain `logging` level change, restored in `finally`.
- `file_context` — a file data context re-reads and re-parses `uncommitted/config_variables.yml` on every
  access to a context variable (~50 times per run). Each provider now reads it once; values and
  substitution stay GX's. Guard: without GX's private `_ConfigurationVariablesConfigurationProvider`,
  the context is opened exactly as `gx.get_context(mode="file")` does; the class is patched only
  while the context opens (`replaced`).
- `no_decimal_scan_of_numeric_arrays` — GX's column mean / sum / standard deviation first scan every value
  for a `decimal.Decimal` (0.07 s per million rows). A numeric, boolean or datetime numpy array cannot
  hold one, so for those the answer is `False` without the scan; object arrays keep GX's check. Guard:
  without `great_expectations.util.does_ndarray_contain_decimal_dtype`, nothing is replaced; with it,
  only while the validations run.
- `compiled_templates` (with `template_cache`) — GX's Data Docs views build a new jinja Environment per
  page and compile the same ~25 templates each time. While active, the pages share one jinja bytecode
  cache (in memory and on disk, in `$MLGATE_CACHE_DIR` or jinja's per-user temp directory; entries keyed
  by GX and jinja version, recompiled when a template's source changes). Guard: without
  `DefaultJinjaView._get_template`, nothing is replaced; an unusable cache directory or entry means the
  template is compiled as usual, so the cache never fails a build.

`replaced` is the one way these patches change a GX attribute: set for one block, restored in `finally`.
Every GX import here is inside a function: importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """`owner.<name>` is `value` while the block runs, then what it was (how mlgate changes a GX
    internal: only for the length of one call, each caller falling back to GX's own behaviour when
    another GX version lacks the internal)."""
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextlib.contextmanager
def quiet_suite_loading() -> Iterator[None]:
    """GX logs a traceback (at ERROR) for each expectation it drops while loading a suite; mlgate checks
    every expectation itself (`validate.check_expectations`, and `validate.check_all_expectations_loaded`
    after loading) and reports one line instead, so that logger is silenced while the checkpoint loads."""
    import logging

    logger = logging.getLogger("great_expectations.core.expectation_suite")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def file_context(root: Path) -> Any:
    """`gx.get_context(mode="file")`, reading `uncommitted/config_variables.yml` once.

    A file context re-reads and re-parses that file (ruamel, 0.3 ms or more each) on every access to a
    context variable: about 30 times while the context opens and 20 more in a checkpoint run and its
    Data Docs. Nothing changes the file during a gate run, so each provider reads it once (values and
    substitution stay GX's own; only the re-reading goes). GX's class is patched only while the context
    opens; afterwards only this context's provider keeps its values."""
    import great_expectations as gx

    try:
        from great_expectations.core.config_provider import (
            _ConfigurationVariablesConfigurationProvider as FileVariables,
        )
    except ImportError:  # another GX version: keep its behaviour
        return gx.get_context(mode="file", project_root_dir=str(root))
    read = FileVariables.get_values

    def read_once(self: Any) -> dict[str, str]:
        if "_mlgate_values" not in vars(self):
            self._mlgate_values = read(self)
        return dict(self._mlgate_values)

    with replaced(FileVariables, "get_values", read_once):
        context = gx.get_context(mode="file", project_root_dir=str(root))
    provider = context.config_provider.get_provider(FileVariables)
    if provider is not None:
        provider.get_values = lambda: read_once(provider)  # type: ignore[method-assign, unused-ignore]  # GX typed only when installed
    return context


@contextlib.contextmanager
def no_decimal_scan_of_numeric_arrays() -> Iterator[None]:
    """GX's column mean, sum and standard deviation first ask whether any value of the column is a
    `decimal.Decimal`, one Python `isinstance` per value (0.07 s per million rows). A numpy array of a
    numeric, boolean or datetime dtype cannot hold a Decimal, so for those the answer is `False` without
    the scan; object arrays (where Decimals live) still get GX's own check. Same answers, same results
    (a test compares both); GX's function is replaced only while the validations run."""
    from great_expectations import util as gx_util

    scan = getattr(gx_util, "does_ndarray_contain_decimal_dtype", None)
    if scan is None:  # another GX version: keep its behaviour
        yield
        return

    def contains_decimal(data: Any) -> bool:
        if getattr(getattr(data, "dtype", None), "kind", "O") != "O":
            return False
        return bool(scan(data=data))

    with replaced(gx_util, "does_ndarray_contain_decimal_dtype", contains_decimal):
        yield


def template_cache() -> Any:
    """A jinja bytecode cache for GX's Data Docs templates: compiled templates are kept in memory for
    the build and on disk for the next run (jinja's `FileSystemBytecodeCache`: in `$MLGATE_CACHE_DIR`,
    else jinja's private per-user directory in the system temp dir). Entries are named by GX and jinja
    version, and jinja recompiles any entry whose template source or Python version differs. The cache
    never fails a build: an unusable directory or entry means the template is compiled as usual."""
    import os

    import great_expectations as gx
    import jinja2
    from jinja2 import FileSystemBytecodeCache

    class TemplateCache(FileSystemBytecodeCache):
        def __init__(self) -> None:
            self.codes: dict[str, bytes] = {}
            self.on_disk = True
            try:
                directory = os.environ.get("MLGATE_CACHE_DIR") or None
                if directory:
                    Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
                pattern = f"__mlgate_gx{gx.__version__}_jinja{jinja2.__version__}_%s.cache"
                super().__init__(directory, pattern)
            except (OSError, RuntimeError):  # no safe directory: this build's memory only
                self.on_disk = False

        def load_bytecode(self, bucket: Any) -> None:
            if bucket.key in self.codes:
                bucket.bytecode_from_string(self.codes[bucket.key])
            elif self.on_disk:
                with contextlib.suppress(Exception):  # a damaged entry is compiled again
                    super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: Any) -> None:
            self.codes[bucket.key] = bucket.bytecode_to_string()
            if self.on_disk:
                with contextlib.suppress(OSError):  # read-only or full disk: next run compiles again
                    super().dump_bytecode(bucket)

    return TemplateCache()


@contextlib.contextmanager
def compiled_templates() -> Iterator[None]:
    """GX's Data Docs views build a new jinja Environment per page and compile the same ~25 templates
    for each page (0.1-0.3 s, most of a build); while this is active, the pages share compiled templates
    through `template_cache` (same templates, same HTML), within the build and across runs."""
    from great_expectations.render.view import view as gx_view

    if not hasattr(gx_view.DefaultJinjaView, "_get_template"):  # another GX version: keep its behaviour
        yield
        return
    cache = template_cache()
    # not __init__: GX passes a view only the keyword arguments its __init__'s argspec names
    get_template = gx_view.DefaultJinjaView._get_template

    def cached_get_template(self: Any, template_str: str) -> Any:
        self.env.bytecode_cache = cache
        return get_template(self, template_str)

    with replaced(gx_view.DefaultJinjaView, "_get_template", cached_get_template):
        yield
