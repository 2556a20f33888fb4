"""The suite itself: every test module in git is collected by a plain ``pytest`` run.

pytest skips folders named like build output (``build``, ``dist`` …) when it recurses: a
``tests/build/`` once held the frozen app's tests, and no run ever collected them.
"""

from __future__ import annotations

import subprocess
import sys

from tests.integration.conftest import ROOT


def test_every_test_module_in_git_is_collected_by_a_plain_run() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "tests/**/test_*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    modules = {line.split("::")[0] for line in collected.splitlines() if "::" in line}
    assert tracked
    assert sorted(set(tracked) - modules) == []
