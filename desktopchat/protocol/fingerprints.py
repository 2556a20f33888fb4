"""Certificate fingerprints as people and links carry them: ``sha256:`` and 64 hex digits.

A server's identity is the SHA-256 of its certificate (DER). The join link carries it
(``#fp=sha256:…``), ``desktopchat join --fingerprint`` takes it, the window shows it in
groups of four; every form a person might paste (colons, capitals, spaces) reads the same.
"""

from __future__ import annotations

import hashlib
import string

PREFIX = "sha256:"


class BadFingerprint(ValueError):
    """Text that is not a SHA-256 fingerprint."""


def fingerprint_of(certificate_der: bytes) -> str:
    """The fingerprint of a certificate in DER form."""
    return PREFIX + hashlib.sha256(certificate_der).hexdigest()


def parse_fingerprint(text: str) -> str:
    """``sha256:AB:CD…``, ``ab cd …`` or bare hex → the canonical ``sha256:abcd…``."""
    digits = text.strip().lower().removeprefix(PREFIX)
    digits = "".join(char for char in digits if char not in ": ")
    if len(digits) != 64 or any(char not in string.hexdigits for char in digits):
        raise BadFingerprint(f"'{text}' is not a SHA-256 fingerprint (sha256: and 64 hex digits)")
    return PREFIX + digits


def readable(fingerprint: str) -> str:
    """Groups of four for reading aloud: ``SHA256 AB12 CD34 …``."""
    digits = parse_fingerprint(fingerprint).removeprefix(PREFIX).upper()
    return "SHA256 " + " ".join(digits[i : i + 4] for i in range(0, 64, 4))
