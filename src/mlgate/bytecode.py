"""Make restored bytecode valid again in a freshly installed environment (actions/setup's bytecode cache).

A new virtual environment compiles every module a job imports: with scikit-learn, MLflow or Great
Expectations that is about half of a Python process's start-up. actions/setup caches the `.pyc` files a
job wrote and restores them into the next run's new environment. Python accepts a timestamp `.pyc` only
when the modification time and size it records match the source file, and a reinstalled file has a new
modification time (uv unpacks the wheels anew when its cache was pruned), so restored files would all be
compiled again.

`restamp` gives a restored `.pyc` its source's current modification time, and only when the source is
exactly what its wheel installed: listed in the distribution's RECORD with a sha256 that the file still
has, and the size the `.pyc` records. The cache is restored only on an exact key, which names `uv.lock`
(it pins every wheel's hash) and the interpreter, and an entry is saved by a run that started without
restored bytecode, so every `.pyc` in it was compiled from those very bytes (a fallback to another lock's
entry would break that: a same-size file of another version would be re-stamped). Anything else — an
edited file, a file no RECORD lists, another interpreter's magic number — is left alone, and Python
compiles it as usual.

Standard library only: it runs in the job's environment before anything else is imported.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

#: flags word of a timestamp `.pyc` (PEP 552); hash-based ones are validated by Python itself
_TIMESTAMP = 0
_HEADER = 16


@dataclass
class Restamped:
    restamped: int = 0  # the source was reinstalled unchanged: the .pyc is valid again
    current: int = 0  # already valid (the source kept its modification time)
    skipped: int = 0  # left for Python to compile again (edited, unlisted, other interpreter)

    def summary(self) -> str:
        return (
            f"bytecode cache: {self.restamped + self.current} restored .pyc files valid "
            f"({self.restamped} re-stamped to their reinstalled, unchanged sources), "
            f"{self.skipped} left to compile again"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def restamp_file(source: Path, recorded_sha256: str, result: Restamped) -> None:
    """Re-stamp the `.pyc` of `source` when it is valid for the source's bytes (see the module docstring)."""
    pyc = Path(importlib.util.cache_from_source(str(source)))
    try:
        with pyc.open("r+b") as handle:
            header = handle.read(_HEADER)
            stat = source.stat()
            mtime, size = int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF
            if (
                len(header) < _HEADER
                or header[:4] != importlib.util.MAGIC_NUMBER
                or int.from_bytes(header[4:8], "little") != _TIMESTAMP
                or int.from_bytes(header[12:16], "little") != size
            ):
                result.skipped += 1
                return
            if int.from_bytes(header[8:12], "little") == mtime:
                result.current += 1
                return
            if _sha256(source) != recorded_sha256:
                result.skipped += 1
                return
            handle.seek(8)
            handle.write(mtime.to_bytes(4, "little"))
            result.restamped += 1
    except FileNotFoundError:
        return  # no .pyc for this module (never imported by the run that saved the cache)
    except OSError:
        result.skipped += 1  # unreadable or read-only: Python compiles it as usual


def restamp(distributions: Iterable[metadata.Distribution]) -> Restamped:
    """Re-stamp the restored `.pyc` of every installed `.py` file whose RECORD entry has a sha256."""
    result = Restamped()
    seen: set[Path] = set()  # a file two distributions list (mlflow and mlflow-skinny) counts once
    for dist in distributions:
        for file in dist.files or ():
            if file.suffix != ".py" or file.hash is None or file.hash.mode != "sha256":
                continue
            source = Path(str(file.locate()))
            if source not in seen:
                seen.add(source)
                restamp_file(source, file.hash.value, result)
    return result


def main() -> int:
    """Re-stamp the restored `.pyc` files of the running interpreter's installed packages."""
    if sys.dont_write_bytecode:
        sys.stdout.write(
            "bytecode cache: PYTHONDONTWRITEBYTECODE is set: this job writes no bytecode to cache\n"
        )
    sys.stdout.write(restamp(metadata.distributions()).summary() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
