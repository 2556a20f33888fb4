"""This install's client key: made once, kept where only this user reads it."""

from __future__ import annotations

import stat
from pathlib import Path

from desktopchat.client.identity import install_key


def test_the_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "client-key"
    key = install_key(path)
    assert len(key) == 32
    assert install_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_broken_key_file_is_replaced_and_an_unwritable_one_gives_a_key_for_the_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "client-key"
    path.write_text("not a key\n")
    key = install_key(path)
    assert key != "not a key"
    assert path.read_text().strip() == key
    blocked = tmp_path / "file" / "client-key"
    (tmp_path / "file").write_text("a file where the folder should be")
    first, second = install_key(blocked), install_key(blocked)
    assert len(first) == len(second) == 32
    assert first != second, "nothing kept: each run has its own"
