"""desktopchat: host or join a LAN chat room, with text, JSON and binary panes."""

__version__ = "0.1.0"
