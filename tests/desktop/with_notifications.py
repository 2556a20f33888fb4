"""Run a command beside a fake notification server, on the session bus this process is on
(start it under ``dbus-run-session``). Prints, as the last line of its output, JSON of what
the server was asked to show and the command's exit status:

    dbus-run-session -- python -m tests.desktop.with_notifications desktopchat about --notify
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.desktop.fake_notifications import serve


async def main(argv: list[str]) -> None:
    server = await serve()
    process = await asyncio.create_subprocess_exec(*argv)
    status = await process.wait()
    print(json.dumps({"shown": server.shown, "status": status}), flush=True)


def on_private_bus(
    command: list[str], env: dict[str, str], *, keyring: bool = False, timeout: float = 60
) -> tuple[str, dict[str, Any]]:
    """Run ``command`` on a private session bus beside the fake notification server (with an
    unlocked gnome-keyring as the Secret Service when ``keyring``); what it printed, and the
    JSON of what the server was asked to show (with the command's ``status``)."""
    root = Path(__file__).resolve().parents[2]
    inside = shlex.join([sys.executable, "-m", "tests.desktop.with_notifications", *command])
    if keyring:
        inside = (
            "echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "
            + inside
        )
    bus_env = {**env, "PYTHONPATH": str(root)}
    bus_env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    done = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", inside],
        cwd=root,
        env=bus_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    *printed, result = done.stdout.strip().splitlines()
    return "\n".join(printed), json.loads(result)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
