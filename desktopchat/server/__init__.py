"""The room server: the Starlette app, its rooms and members, history, and the uvicorn runner.

It knows no Qt and no client code; the window and ``desktopchat serve`` both host it.
"""

from desktopchat.server.settings import Settings
from desktopchat.server.web.app import create_app
from desktopchat.server.web.runner import HostedServer

__all__ = ["HostedServer", "Settings", "create_app"]
