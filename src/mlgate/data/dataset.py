"""Reading a tabular dataset (CSV or Parquet) in chunks, with every reading problem a one-line input error.

The data gates never need a whole dataset in memory to profile it or to check it for drift: they read
record batches of at most `chunk_rows` rows through pyarrow (`pyarrow.csv.open_csv` streams a CSV block by
block; `ParquetFile.iter_batches` streams a Parquet file row group by row group; `pyarrow.dataset` streams
a directory of Parquet files file by file, re-cut into the same `chunk_rows` batches one file would give).

Problems a user can fix become `GateInputError`s naming the file, the column and what to do:
missing or empty file (`missing-file`, `empty-data`), a CSV that is not UTF-8 or not parseable, a
binary file or a Parquet file named `.csv` ("looks like Parquet") and a damaged Parquet file
(`unreadable-data`), a header naming a column twice or holding a whole `;`/`|`/tab-delimited header in
one column (`schema-mismatch`, with the delimiter hint), a column whose values do not fit the type read
from the first rows (`schema-mismatch`), and a dataset too large for memory on an engine that needs it
all at once (`too-large`, with the Spark suggestion).

`iter_batches` is the streaming reader the profile and drift gates consume; `read_pandas` / `read_spark`
give the whole dataset to `validate-data`'s engines; `dataset_path` resolves `--data` against
`data.dataset` in mlgate.yaml for every data gate.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.data.config import DEFAULT_CHUNK_ROWS, DataSection
from mlgate.gate import GateInputError

if TYPE_CHECKING:
    import pyarrow as pa

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


def dataset_path(data: Path | None, config_path: Path, section: DataSection | None = None) -> Path:
    """The dataset a data gate reads: `--data` when given, else `data.dataset` in mlgate.yaml (the
    section is read only when needed; pass it when the caller has it already)."""
    if data is not None:
        return data
    if section is None:
        from mlgate.config import load_section

        section = load_section(config_path, "data", DataSection)
    return Path(section.dataset)


def data_format(path: Path) -> str:
    """`csv` or `parquet`, from the file name (a directory of Parquet files counts as Parquet)."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES or (path.is_dir() and any(path.glob("*.parquet"))):
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise GateInputError(
        f"unsupported file type {suffix or '(no suffix)'!r}",
        file=path,
        fix="give a .csv or .parquet file",
        reason="unreadable-data",
    )


def check_exists(path: Path, *, what: str = "dataset") -> None:
    """Raise `missing-file` / `empty-data` for a path that is absent or holds no bytes."""
    if not path.exists():
        raise GateInputError(
            f"{what} not found",
            file=path,
            fix="check the path (is it pulled with `dvc pull`?)",
            reason="missing-file",
        )
    if path.is_dir() and not any(path.glob("*.parquet")):
        raise GateInputError(
            f"{what} is a directory (without .parquet files)",
            file=path,
            fix="give the data file itself, or a directory of .parquet files",
            reason="unreadable-data",
        )
    if not os.access(path, os.R_OK):
        raise GateInputError(
            f"{what} cannot be read (permission denied)",
            file=path,
            fix="check the file's permissions",
            reason="unreadable-data",
        )
    if path.is_file() and path.stat().st_size == 0:
        raise GateInputError(
            f"{what} is an empty file", file=path, fix="write the data first", reason="empty-data"
        )


#: delimiters a CSV written by another tool often uses instead of the comma mlgate reads
OTHER_DELIMITERS = {";": "semicolon", "|": "pipe", "\t": "tab"}
#: bytes of a CSV looked at for a binary or Parquet file under a CSV name
SNIFF_BYTES = 4096


def check_csv_text(path: Path) -> None:
    """A file named like CSV must be text: a Parquet file (`PAR1` magic) or other binary content is an
    input error saying what it looks like, never its bytes quoted back."""
    if not path.is_file():
        return
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(b"PAR1"):
        raise GateInputError(
            "looks like Parquet, not CSV",
            file=path,
            fix="name it `.parquet` (mlgate picks the reader from the file name)",
            reason="unreadable-data",
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise GateInputError(
            "is UTF-16 text, not UTF-8",
            file=path,
            fix="re-encode the file as UTF-8 (e.g. `iconv -f utf-16 -t utf-8`)",
            reason="unreadable-data",
        )
    if b"\x00" in head:
        raise GateInputError(
            "is binary, not CSV text",
            file=path,
            fix="give a UTF-8 CSV or a .parquet file",
            reason="unreadable-data",
        )


def check_header(path: Path, names: list[str]) -> None:
    """Column names must be unique, and a CSV header must not be a whole other-delimited header read as
    one column (`a;b;c`): both are `schema-mismatch` naming the column."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise GateInputError(
                "column name appears more than once in the header",
                file=path,
                field=name,
                fix="give every column a unique name",
                reason="schema-mismatch",
            )
        seen.add(name)
    if len(names) == 1 and path.suffix.lower() != ".tsv":
        for delimiter, label in OTHER_DELIMITERS.items():
            if len([part for part in names[0].split(delimiter) if part.strip()]) >= 2:
                raise GateInputError(
                    f"the header is one column holding {label}s ({names[0][:60]!r}): the file looks "
                    f"{label}-delimited, and mlgate reads comma-delimited CSV",
                    file=path,
                    fix="write the file with commas as the delimiter (or as .tsv for tabs, or Parquet)",
                    reason="schema-mismatch",
                )


def _csv_error(path: Path, exc: Exception, names: list[str]) -> GateInputError:
    text = str(exc)
    match = re.search(r"CSV column #(\d+)", text)
    column = names[int(match.group(1))] if match and int(match.group(1)) < len(names) else None
    if "UTF8" in text or "UTF-8" in text or "utf-8" in text:
        return GateInputError(
            "is not UTF-8 text",
            file=path,
            field=column,
            fix="re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
            reason="unreadable-data",
        )
    if column is not None and "conversion error" in text:
        value = re.search(r"invalid value '([^']*)'", text)
        shown = f" {value.group(1)!r}" if value else ""
        return GateInputError(
            f"value{shown} does not fit the column's type read from the first rows",
            file=path,
            field=column,
            fix="fix the value, or make the column's type consistent across the file",
            reason="schema-mismatch",
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return GateInputError(
        f"cannot parse CSV ({first})",
        file=path,
        fix="check the file is a valid CSV",
        reason="unreadable-data",
    )


def _csv_reader(path: Path, chunk_rows: int, column_types: dict[str, Any] | None = None) -> Any:
    from pyarrow import csv

    # about 80 bytes per row is typical; pyarrow reads whole blocks, so this bounds rows per batch loosely
    block = int(min(max(chunk_rows * 80, 1 << 20), 1 << 30))
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return csv.open_csv(
        path,
        read_options=csv.ReadOptions(block_size=block),
        parse_options=csv.ParseOptions(delimiter=delimiter),
        convert_options=csv.ConvertOptions(column_types=column_types or {}, strings_can_be_null=True),
    )


def schema(path: Path) -> pa.Schema:
    """The dataset's schema: read from Parquet metadata, or inferred from the first CSV block."""
    import pyarrow as pa

    check_exists(path)
    if data_format(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            found = pq.read_schema(path) if path.is_file() else parquet_directory(path).schema
        except (pa.ArrowInvalid, OSError) as exc:
            raise GateInputError(
                f"cannot read Parquet ({str(exc).splitlines()[0]})",
                file=path,
                fix="rewrite the file with a Parquet writer",
                reason="unreadable-data",
            ) from None
        check_header(path, list(found.names))
        return found
    check_csv_text(path)
    try:
        reader = _csv_reader(path, DEFAULT_CHUNK_ROWS)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _csv_error(path, exc, []) from None
    names = list(reader.schema.names)
    check_header(path, names)
    _require_utf8(path, reader.schema)
    widened = _widen(reader.schema, keep_null=True)
    return pa.schema([pa.field(n, widened.get(n, reader.schema.field(n).type)) for n in names])


def _require_utf8(path: Path, found: pa.Schema) -> None:
    """pyarrow reads a CSV column holding invalid UTF-8 as binary: name it instead of guessing on."""
    import pyarrow as pa

    for item in found:
        if pa.types.is_binary(item.type) or pa.types.is_large_binary(item.type):
            raise GateInputError(
                "is not UTF-8 text",
                file=path,
                field=item.name,
                fix="re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
                reason="unreadable-data",
            )


def _widen(
    found: pa.Schema, *, keep_null: bool = False, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """CSV types inferred from the first block, widened so later blocks fit: integers → float64 (a later
    '1.5' would not fit int64), an all-empty first block → string; `overrides` (name → type) win."""
    import pyarrow as pa

    out: dict[str, Any] = {}
    for item in found:
        if pa.types.is_integer(item.type):
            out[item.name] = pa.float64()
        elif pa.types.is_null(item.type) and not keep_null:
            out[item.name] = pa.string()
    out.update({k: v for k, v in (overrides or {}).items() if k in found.names})
    return out


def parquet_directory(path: Path) -> Any:
    """A directory of Parquet files as one `pyarrow.dataset.Dataset`: its files in path order (pyarrow's
    discovery sorts them), `key=value` subdirectories read as columns (hive partitioning, as
    `pyarrow.parquet.ParquetDataset` reads them), files starting with `.` or `_` ignored."""
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet", partitioning="hive")


#: record batches the Parquet directory scan reads ahead: with one file at a time, at most this many
#: batches of `chunk_rows` rows are in memory besides the one being consumed
DIRECTORY_READAHEAD = 2


def _directory_batches(path: Path, chunk_rows: int, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
    """Stream a Parquet directory as `iter_batches` streams one file: batches of exactly `chunk_rows` rows
    (the last one shorter), across file and row-group boundaries, so a directory gives the same batches
    (and so the same profile, bit for bit) as the one file holding its files end to end. The scan reads
    one file and a few batches ahead, never the whole directory."""
    import pyarrow.dataset as ds

    dataset = parquet_directory(path)
    check_header(path, list(dataset.schema.names))
    scan = dataset.to_batches(
        columns=columns,
        batch_size=chunk_rows,
        batch_readahead=DIRECTORY_READAHEAD,
        fragment_readahead=1,
        fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False),
    )
    yield from rebatched(scan, chunk_rows)


def rebatched(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """The same rows in batches of exactly `rows` rows (the last one shorter; empty batches dropped).
    Holds at most one output batch's rows beyond the input batch at hand."""

    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        start = 0
        while start < batch.num_rows:
            take = min(rows - held, batch.num_rows - start)
            pending.append(batch.slice(start, take))
            held, start = held + take, start + take
            if held == rows:
                yield _joined(pending)
                pending, held = [], 0
    if held:
        yield _joined(pending)


def _joined(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
    import pyarrow as pa

    if len(parts) == 1:
        return parts[0]
    joined: pa.RecordBatch = pa.Table.from_batches(parts).combine_chunks().to_batches()[0]
    return joined


def iter_batches(
    path: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    columns: list[str] | None = None,
    numeric: list[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Record batches of the dataset, read lazily; bad content raises `GateInputError`.

    `numeric` names CSV columns to read as float64 whatever the first rows look like (a text value in
    them is then a `schema-mismatch` naming the column)."""
    import pyarrow as pa

    check_exists(path)
    if data_format(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            if path.is_dir():
                yield from _directory_batches(path, chunk_rows, columns)
                return
            # pre_buffer (pyarrow's default, meant for object stores) reads whole row groups into large
            # fresh buffers first: for a local file that costs seconds of page faults per GB, no I/O saved
            parquet = pq.ParquetFile(path, pre_buffer=False)
            check_header(path, list(parquet.schema_arrow.names))
            yield from parquet.iter_batches(batch_size=chunk_rows, columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise GateInputError(
                f"cannot read Parquet ({str(exc).splitlines()[0]})",
                file=path,
                fix="rewrite the file with a Parquet writer",
                reason="unreadable-data",
            ) from None
        return
    names: list[str] = []
    check_csv_text(path)
    try:
        first = _csv_reader(path, chunk_rows)
        names = list(first.schema.names)
        check_header(path, names)
        _require_utf8(path, first.schema)
        overrides = dict.fromkeys(numeric or [], pa.float64())
        reader = _csv_reader(path, chunk_rows, _widen(first.schema, overrides=overrides))
        for batch in reader:
            yield batch.select(columns) if columns is not None else batch
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _csv_error(path, exc, names) from None


def read_table(path: Path, *, columns: list[str] | None = None) -> pa.Table:
    """The whole dataset as one Arrow table (for engines that need it at once)."""
    import pyarrow as pa

    batches = list(iter_batches(path, columns=columns))
    if not batches:
        return schema(path).empty_table()
    return pa.Table.from_batches(batches)


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable; physical memory where /proc is absent)."""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def estimated_memory(path: Path) -> int:
    """Rough bytes a pandas DataFrame of the dataset takes: Parquet's uncompressed size, ~2x a CSV's size."""
    if data_format(path) == "parquet" and path.is_file():
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        return int(size * 1.5)
    files = [path] if path.is_file() else list(path.rglob("*"))
    return int(sum(f.stat().st_size for f in files if f.is_file()) * 2)


def check_fits_in_memory(path: Path, *, limit: int | None = None) -> None:
    """Fail clearly (`too-large`) when the dataset would not fit in memory; suggest the Spark engine."""
    budget = limit if limit is not None else int(available_memory() * 0.7)
    need = estimated_memory(path)
    if need > budget:
        raise GateInputError(
            f"needs about {need / 2**30:.1f} GiB in memory but {budget / 2**30:.1f} GiB are available",
            file=path,
            fix="use the Spark engine (`data.engine: spark` in mlgate.yaml or `--engine spark`)",
            reason="too-large",
        )


# --- whole datasets, for the engines that need one (validate-data) -------------------------------------


def read_pandas(data: Path) -> Any:
    """The whole dataset as a pandas DataFrame (check `check_fits_in_memory` first)."""
    import pandas as pd

    try:
        if data_format(data) == "parquet":
            frame = pd.read_parquet(data)
        else:
            frame = pd.read_csv(data, sep="\t" if data.suffix.lower() == ".tsv" else ",")
    except UnicodeDecodeError:
        raise GateInputError(
            "is not UTF-8 text", file=data, fix="re-encode the file as UTF-8", reason="unreadable-data"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise GateInputError(
            f"cannot read ({str(exc).splitlines()[0]})",
            file=data,
            fix="check the file is a valid CSV or Parquet",
            reason="unreadable-data",
        ) from None
    if frame.empty:
        raise GateInputError("has no rows", file=data, fix="check the data export", reason="empty-data")
    return frame


def spark_session(master: str, app_name: str = "mlgate-validate-data") -> Any:
    """A Spark session on `master` (`local[2]`, `spark://…`); pyspark or Java missing is
    `engine-unavailable`, naming `data.engine` / `data.spark_master`."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise GateInputError(
            "the spark engine needs pyspark",
            field="data.engine",
            fix="install it (`uv add pyspark`) or use `engine: pandas`",
            reason="engine-unavailable",
        ) from None
    try:
        return SparkSession.builder.master(master).appName(app_name).getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java/Spark start-up failures come in many types
        raise GateInputError(
            f"cannot start Spark ({str(exc).splitlines()[0][:200]})",
            field="data.spark_master",
            fix="check Java 17+ is installed and the master URL",
            reason="engine-unavailable",
        ) from None


def read_spark(data: Path, master: str) -> Any:
    """The dataset as a Spark DataFrame (read by Spark itself: it need not fit in this process)."""
    spark = spark_session(master)
    # absolute: one Spark session serves the whole process, and its JVM resolves relative paths against
    # the directory it was started in, not this process's current one
    where = str(data.resolve())
    if data_format(data) == "parquet":
        return spark.read.parquet(where)
    return spark.read.csv(where, header=True, inferSchema=True)
