"""Installing from a hashed lock cannot drift: ``install_lock`` (scripts/venv.sh, what
scripts/run, scripts/test and scripts/build use) installs exactly the pinned files, with the pip a
new Python venv brings and with the newest one, even when the registry has published a newer
release of a locked package since the lock was made.

The registry is stood in for by a local folder (``--no-index --find-links``) holding the locked
files of pytest-cov and what it needs, downloaded by their hashes, plus a newer ``coverage``
that nobody locked. pytest-cov asks for ``coverage[toml]``: pip < 23.3 resolves that extra as a
requirement of its own and picks the newest coverage, which is how the README's test command
failed on a fresh clone.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT

# pytest-cov and everything it needs on Linux with Python 3.11: the lock's own entries.
LOCKED = ["pytest-cov", "coverage", "pytest", "pluggy", "iniconfig", "packaging", "pygments"]
NEWER_COVERAGE = "99.0"


def lock_entries(lock: Path, names: list[str]) -> str:
    """The entries (pin and hashes) of ``names`` in a pip-tools style lock file."""
    entries = re.split(r"\n(?=\S)", lock.read_text())
    wanted = [e for e in entries if e.split("==")[0].strip() in names]
    assert len(wanted) == len(names), f"{names} not all in {lock}"
    return "\n".join(wanted) + "\n"


def fake_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel of ``name`` at ``version``: what a newer upload looks like."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", f"__version__ = {version!r}\n")
        wheel.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nProvides-Extra: toml\n",
        )
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A local registry (the locked files and a newer coverage) and the lock of those files."""
    folder = tmp_path_factory.mktemp("index")
    lock = folder / "lock.txt"
    lock.write_text(lock_entries(Path(ROOT) / "requirements" / "test.txt", LOCKED))
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--require-hashes"),
            *("--only-binary", ":all:", "-r", str(lock), "-d", str(folder / "files")),
        ],
        check=True,
        timeout=300,
    )
    fake_wheel(folder / "files", "coverage", NEWER_COVERAGE)
    return folder / "files", lock


def new_venv(where: Path, *, newest_pip: bool) -> Path:
    """A new venv as ``python3 -m venv`` makes it (with the pip that Python brings), or with
    the registry's newest pip."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    if newest_pip:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True, timeout=300
        )
    return python


def pip_version(python: Path) -> tuple[int, ...]:
    out = subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=True
    ).stdout
    return tuple(int(part) for part in out.split()[1].split(".")[:2])


def install_lock(python: Path, lock: Path, files: Path) -> subprocess.CompletedProcess[str]:
    script = '. scripts/venv.sh && install_lock "$1" "$2" --no-index --find-links "$3"'
    return subprocess.run(
        ["bash", "-c", script, "install_lock", str(python), str(lock), str(files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def installed(python: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("newest_pip", [False, True], ids=["pip-a-new-venv-brings", "newest-pip"])
def test_a_lock_installs_exactly_its_pins_when_the_registry_has_a_newer_release(
    index: tuple[Path, Path], tmp_path: Path, newest_pip: bool
) -> None:
    files, lock = index
    python = new_venv(tmp_path / "venv", newest_pip=newest_pip)
    if not newest_pip:
        assert pip_version(python) < (23, 3), "the case that broke: a new venv's old pip"
    done = install_lock(python, lock, files)
    assert done.returncode == 0, done.stdout + done.stderr
    locked = re.search(r"^coverage==(\S+)", lock.read_text(), re.MULTILINE)
    assert locked is not None
    assert installed(python, "coverage") == locked.group(1) != NEWER_COVERAGE
    assert "No broken requirements" in done.stdout


def test_the_resolver_that_install_lock_leaves_out_is_what_broke_with_an_old_pip(
    index: tuple[Path, Path], tmp_path: Path
) -> None:
    """Why ``--no-deps``: the same lock through pip's resolver fails with an old pip."""
    files, lock = index
    python = new_venv(tmp_path / "venv", newest_pip=False)
    done = subprocess.run(
        [
            *(str(python), "-m", "pip", "install", "-q", "--require-hashes", "-r", str(lock)),
            *("--no-index", "--find-links", str(files)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "versions pinned with ==" in done.stderr
