"""Joining a room: the session (reconnects, resume, outbox), address parsing, join errors."""

from desktopchat.client.address import display_address, room_url
from desktopchat.client.backoff import Backoff
from desktopchat.client.errors import (
    AddressError,
    CertificateChanged,
    JoinError,
    NotDesktopchat,
    OriginRefused,
    Refused,
    SendError,
    TokenRefused,
    UnknownCertificate,
    Unreachable,
    UntrustedCertificate,
)
from desktopchat.client.events import (
    Delivered,
    Failed,
    HistoryPage,
    Joined,
    PresenceChanged,
    Progress,
    Queued,
    Received,
    ServerError,
    SessionEvent,
    SessionState,
    StateChanged,
)
from desktopchat.client.session import Session

__all__ = [
    "AddressError",
    "Backoff",
    "CertificateChanged",
    "Delivered",
    "Failed",
    "HistoryPage",
    "JoinError",
    "Joined",
    "NotDesktopchat",
    "OriginRefused",
    "PresenceChanged",
    "Progress",
    "Queued",
    "Received",
    "Refused",
    "SendError",
    "ServerError",
    "Session",
    "SessionEvent",
    "SessionState",
    "StateChanged",
    "TokenRefused",
    "UnknownCertificate",
    "Unreachable",
    "UntrustedCertificate",
    "display_address",
    "room_url",
]
