"""The C heap of a server process, kept from shrinking and growing again around every piece
of a request body.

An upload arrives in pieces of 64 KiB to 256 KiB, and each is copied a few times on its way
(TLS, h11's buffer, the ASGI message) and freed at once. glibc returns the top of its heap to
the system as soon as more than 128 KiB of it is free, so every piece grew the heap again:
fresh pages, page faults and zeroing for every byte uploaded (measured: 2.3x the CPU per
byte, and an upload at a third of the disk's speed). Keeping a pad of 16 MiB at the top of
the heap (``M_TOP_PAD``) ends that at the price of at most 16 MiB kept. No library sets
this; it is one documented ``mallopt`` call, on glibc only (elsewhere it does nothing).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

logger = logging.getLogger("desktopchat.server")

M_TOP_PAD = -2  # glibc's malloc.h
TOP_PAD_BYTES = 16 * 1024 * 1024


def keep_heap_warm() -> bool:
    """Ask glibc to keep :data:`TOP_PAD_BYTES` at the top of the heap; whether it took."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has mallopt but ignores it; others lack it)
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    taken = bool(mallopt(M_TOP_PAD, TOP_PAD_BYTES))
    if not taken:
        logger.debug("glibc did not take M_TOP_PAD")
    return taken
