"""Run a command beside a fake notification server, on the session bus this process is on
(start it under ``dbus-run-session``). Prints, as the last line of its output, JSON of what
the server was asked to show and the command's exit status:

    dbus-run-session -- python -m tests.desktop.with_notifications desktopchat about --notify
"""

from __future__ import annotations

import asyncio
import json
import sys

from tests.desktop.fake_notifications import serve


async def main(argv: list[str]) -> None:
    server = await serve()
    process = await asyncio.create_subprocess_exec(*argv)
    status = await process.wait()
    print(json.dumps({"shown": server.shown, "status": status}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
