"""The server's TLS identity: a self-signed certificate made once and kept, or one brought.

A LAN has no certificate authority. Like LocalSend or Syncthing, the server makes a key and a
long-lived self-signed certificate on first use (key file mode 0600, in the user data dir)
and keeps them, so the fingerprint people pin stays the same across restarts.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from desktopchat.protocol.fingerprints import fingerprint_of

VALID_DAYS = 3650


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """A certificate and key on disk, and the certificate's fingerprint."""

    cert: Path
    key: Path
    fingerprint: str

    def context(self) -> ssl.SSLContext:
        """A server-side TLS context with this identity."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def identity_of(cert: Path, key: Path) -> TlsIdentity:
    """The identity of a certificate and key brought by the user (``--cert``/``--key``).

    Raises ``OSError`` or ``ssl.SSLError`` (in words) if they cannot be read or do not match.
    """
    pem = cert.read_bytes()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)  # refuses a key that does not match
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return TlsIdentity(cert, key, fingerprint_of(der))


def load_or_create(directory: Path) -> TlsIdentity:
    """The identity kept in ``directory``, made there on first use."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not (cert.exists() and key.exists()):
        _create(cert, key)
    elif key.stat().st_mode & 0o077:
        key.chmod(0o600)  # our own key: nobody else may read it, whoever loosened it
    return identity_of(cert, key)


def _create(cert: Path, key: Path) -> None:
    cert.parent.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"desktopchat on {socket.gethostname()}")]
    )
    now = datetime.datetime.now(datetime.UTC)
    alternatives = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.DNSName(socket.gethostname()),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(alternatives, critical=False)
        .sign(private, hashes.SHA256())
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key is written with mode 0600 from the start: never readable by others, not even
    # for the moment between creating the file and changing its mode.
    descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # A file that existed keeps its mode through O_CREAT. os.fchmod is missing on Windows
    # before Python 3.13; there the mode is only a read-only flag, and the user's profile
    # folder is what keeps others out.
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key_pem)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
