"""Which event loop a server runs on: uvloop's when installed (less Python per frame sent
and received), or asyncio's own, which is always there and is what the window's loop is."""

from __future__ import annotations

import asyncio
from typing import Literal

LoopKind = Literal["auto", "asyncio", "uvloop"]
LOOP_KINDS: tuple[LoopKind, ...] = ("auto", "asyncio", "uvloop")


def new_loop(kind: LoopKind = "auto") -> asyncio.AbstractEventLoop:
    """A fresh event loop of ``kind``; ``auto`` is uvloop when it can be imported.

    Raises :class:`RuntimeError` for ``uvloop`` when it is not installed.
    """
    if kind == "asyncio":
        return asyncio.new_event_loop()
    try:
        import uvloop  # optional (not on Windows): asyncio's loop works too
    except ImportError as exc:
        if kind == "uvloop":
            raise RuntimeError("uvloop is not installed (pip install uvloop)") from exc
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
