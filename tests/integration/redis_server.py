"""A real redis-server on a loopback port with its own temporary directory."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` on 127.0.0.1; :meth:`stop` and :meth:`start` keep port and data
    directory (with ``appendonly`` its data survives a restart, without it it does not)."""

    def __init__(self, directory: Path, appendonly: bool = True) -> None:
        found = shutil.which("redis-server")
        assert found, "redis-server is installed by scripts/test (Debian package redis-server)"
        self.binary = found
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--daemonize", "no",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always",
            "--enable-debug-command", "local",
        ]  # fmt: skip
        self.process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(OSError):
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.write(b"PING\r\n")
                    if (await reader.readline()).startswith(b"+PONG"):
                        writer.close()
                        return
                    writer.close()
                await asyncio.sleep(0.05)

    async def stop(self, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        async with asyncio.timeout(10):
            await process.wait()

    def wipe(self) -> None:
        """Lose every byte on disk (as a Redis without persistence loses it at a restart)."""
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def redis_server(directory: Path, appendonly: bool = True) -> AsyncIterator[RedisServer]:
    server = RedisServer(directory, appendonly)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
