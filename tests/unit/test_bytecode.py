"""`mlgate.bytecode`: restored `.pyc` files are made valid only for sources their wheel installed unchanged.

Each case builds a small site-packages directory (a module and a dist-info whose RECORD lists it with its
sha256), compiles the module as an import does (a timestamp `.pyc`), then moves or edits the source as a
reinstall or a local edit would. Whether the `.pyc` is valid is asked of Python itself: a fresh interpreter
imports the module with bytecode writing on, and a `.pyc` it had to compile again is rewritten.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import py_compile
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from mlgate.bytecode import Restamped, restamp

SOURCE = 'GREETING = "hello from the wheel"\n'


def site(tmp_path: Path, source: str = SOURCE, *, recorded: bool = True) -> tuple[Path, Path, Path]:
    """site-packages with `greet.py` (listed in RECORD with its sha256 when `recorded`) and its `.pyc`."""
    packages = tmp_path / "site-packages"
    module = packages / "greet.py"
    module.parent.mkdir(parents=True)
    module.write_text(source, encoding="utf-8")
    dist_info = packages / "greet-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: greet\nVersion: 1.0\n", encoding="utf-8"
    )
    digest = base64.urlsafe_b64encode(hashlib.sha256(source.encode()).digest()).rstrip(b"=").decode()
    lines = [f"greet.py,sha256={digest},{len(source)}"] if recorded else ["greet.py,,"]
    lines += ["greet-1.0.dist-info/METADATA,,", "greet-1.0.dist-info/RECORD,,"]
    (dist_info / "RECORD").write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(module, (1_700_000_000, 1_700_000_000))
    compiled = py_compile.compile(str(module), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    assert compiled is not None
    return packages, module, Path(compiled)


def reinstall(module: Path) -> None:
    """The same bytes with a new modification time, as a fresh unpack of the wheel gives."""
    os.utime(module, (1_800_000_000, 1_800_000_000))


def import_greeting(packages: Path) -> tuple[str, bytes]:
    """GREETING as a fresh interpreter imports it (writing bytecode), and the `.pyc` afterwards."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(packages)
    proc = subprocess.run(
        [sys.executable, "-c", "import greet; print(greet.GREETING)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    pyc = Path(importlib.util.cache_from_source(str(packages / "greet.py")))
    return proc.stdout.strip(), pyc.read_bytes()


def run_restamp(packages: Path) -> Restamped:
    return restamp(metadata.distributions(path=[str(packages)]))


def test_a_reinstalled_unchanged_source_gets_its_pyc_back(tmp_path: Path) -> None:
    packages, module, pyc = site(tmp_path)
    reinstall(module)
    result = run_restamp(packages)
    assert (result.restamped, result.current, result.skipped) == (1, 0, 0)
    restamped = pyc.read_bytes()
    greeting, after = import_greeting(packages)
    assert greeting == "hello from the wheel"
    assert after == restamped  # Python used it as it was: not compiled again


def test_without_restamping_python_compiles_again(tmp_path: Path) -> None:
    """The control: a reinstalled source's old `.pyc` is not valid by itself."""
    packages, module, pyc = site(tmp_path)
    reinstall(module)
    before = pyc.read_bytes()
    _greeting, after = import_greeting(packages)
    assert after != before


def test_an_edited_source_of_the_same_size_is_left_to_compile(tmp_path: Path) -> None:
    packages, module, pyc = site(tmp_path)
    edited = SOURCE.replace("wheel", "edits")
    assert len(edited) == len(SOURCE)
    module.write_text(edited, encoding="utf-8")
    before = pyc.read_bytes()
    result = run_restamp(packages)
    assert (result.restamped, result.skipped) == (0, 1)
    assert pyc.read_bytes() == before
    greeting, _after = import_greeting(packages)
    assert greeting == "hello from the edits"  # never the stale bytecode


def test_a_source_of_another_size_is_left_to_compile(tmp_path: Path) -> None:
    packages, module, _pyc = site(tmp_path)
    module.write_text(SOURCE + "# more\n", encoding="utf-8")
    result = run_restamp(packages)
    assert (result.restamped, result.skipped) == (0, 1)


def test_a_file_its_record_gives_no_hash_for_is_not_touched(tmp_path: Path) -> None:
    packages, module, pyc = site(tmp_path, recorded=False)
    reinstall(module)
    before = pyc.read_bytes()
    result = run_restamp(packages)
    assert (result.restamped, result.current, result.skipped) == (0, 0, 0)
    assert pyc.read_bytes() == before


def test_a_pyc_of_another_interpreter_is_left_alone(tmp_path: Path) -> None:
    packages, module, pyc = site(tmp_path)
    reinstall(module)
    data = bytearray(pyc.read_bytes())
    data[0] ^= 0xFF  # another magic number
    pyc.write_bytes(bytes(data))
    result = run_restamp(packages)
    assert (result.restamped, result.skipped) == (0, 1)
    assert pyc.read_bytes() == bytes(data)


def test_a_current_pyc_is_counted_and_kept(tmp_path: Path) -> None:
    packages, _module, pyc = site(tmp_path)
    before = pyc.read_bytes()
    result = run_restamp(packages)
    assert (result.restamped, result.current, result.skipped) == (0, 1, 0)
    assert pyc.read_bytes() == before
    assert "1 restored .pyc files valid (0 re-stamped" in result.summary()


def test_no_pyc_no_count(tmp_path: Path) -> None:
    packages, _module, pyc = site(tmp_path)
    pyc.unlink()
    result = run_restamp(packages)
    assert (result.restamped, result.current, result.skipped) == (0, 0, 0)


def test_a_pyc_it_cannot_write_is_skipped_not_an_error(tmp_path: Path) -> None:
    packages, module, pyc = site(tmp_path)
    reinstall(module)
    pyc.chmod(0o444)
    if os.access(pyc, os.W_OK):  # root ignores file modes
        pyc.unlink()
        pyc.mkdir()  # a directory where the .pyc should be: opening it fails
    result = run_restamp(packages)
    assert (result.restamped, result.skipped) == (0, 1)
