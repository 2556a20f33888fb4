"""Sizes in words people read: ``512 bytes``, ``1.5 KiB``, ``16.0 MiB``."""

from __future__ import annotations


def human_size(size: int) -> str:
    """``1.5 KiB``-style sizes (binary units, one decimal above bytes)."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024:
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
