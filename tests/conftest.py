"""Test-wide setup: no test touches the real user dirs, Qt renders offscreen."""

from __future__ import annotations

import os
import tempfile

# Before anything imports platformdirs or Qt: history and settings go to a throwaway home,
# and Qt needs no display.
_HOME = tempfile.mkdtemp(prefix="desktopchat-tests-")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_STATE_HOME"] = os.path.join(_HOME, "state")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(proxy, None)
