"""Files the app keeps are written whole or not at all: a write that fails half-way (a full
disk, a crash) leaves the previous file as it was."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from desktopchat.atomic import write_atomically
from desktopchat.client.pinning import KnownHosts

FINGERPRINT = "sha256:" + "ab" * 32


def test_a_pin_written_when_the_disk_fills_leaves_every_earlier_pin(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts.json"
    KnownHosts(path).remember("alpha.lan", 5042, FINGERPRINT)
    # The process may write files of at most 200 bytes: the new file is bigger, so the
    # write fails midway, as on a full disk.
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from desktopchat.client.pinning import KnownHosts
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        hosts = KnownHosts(Path({str(path)!r}))
        try:
            for n in range(10):
                hosts.remember(f"host-{{n}}.lan", 5042, {FINGERPRINT!r})
        except OSError as exc:
            print("refused:", exc.strerror)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    assert "refused: File too large" in done.stdout
    kept = json.loads(path.read_text())  # whole, not cut off
    assert "alpha.lan:5042" in kept
    assert len(kept) < 11, "the write that did not fit is not there"
    assert KnownHosts(path).get("alpha.lan", 5042) is not None
    assert [p.name for p in tmp_path.iterdir()] == ["known_hosts.json"], "no temporary left"


def test_a_written_file_is_private_to_its_user_and_its_folder_is_made(tmp_path: Path) -> None:
    path = tmp_path / "new" / "settings.json"
    write_atomically(path, json.dumps({"name": "ada"}))
    assert json.loads(path.read_text()) == {"name": "ada"}
    assert path.stat().st_mode & 0o777 == 0o600
