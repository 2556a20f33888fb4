"""Wiring: the command line, the qasync loop, and the server the window hosts.

The only package that sees every layer (server, client, gui).
"""

from desktopchat.app.cli import main

__all__ = ["main"]
