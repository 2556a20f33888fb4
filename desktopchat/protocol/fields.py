"""Strict reading of one decoded JSON object: typed fields, limits, no unknown keys."""

from __future__ import annotations

from typing import Any

from desktopchat.protocol.errors import InvalidEnvelope, MessageTooBig


class Fields:
    """Reads the fields of a decoded envelope and refuses what does not fit.

    Every getter marks its key as known; :meth:`finish` then refuses any key nobody asked for,
    so a typo (``"txt"``) is an error that names the field rather than a silent default.
    """

    def __init__(self, obj: object, what: str) -> None:
        if not isinstance(obj, dict):
            raise InvalidEnvelope(f"{what} must be a JSON object, not {type_name(obj)}")
        self._obj: dict[str, Any] = obj
        self._what = what
        self._known: set[str] = set()

    def has(self, key: str) -> bool:
        """Whether ``key`` is present (and not null)."""
        self._known.add(key)
        return self._obj.get(key) is not None

    def present(self, key: str) -> bool:
        """Whether ``key`` is there at all (``null`` included)."""
        self._known.add(key)
        return key in self._obj

    def raw(self, key: str) -> Any:
        """The value of ``key`` whatever its type; missing is an error, ``null`` is a value."""
        self._known.add(key)
        if key not in self._obj:
            raise InvalidEnvelope(f"{self._what} needs the field '{key}'", key)
        return self._obj[key]

    def text(self, key: str, *, max_len: int | None = None) -> str:
        """A required string field."""
        value = self.raw(key)
        if not isinstance(value, str):
            raise InvalidEnvelope(
                f"'{key}' of {self._what} must be a string, not {type_name(value)}", key
            )
        if max_len is not None and len(value) > max_len:
            raise MessageTooBig(f"'{key}' of {self._what} is longer than {max_len} characters")
        return value

    def optional_text(self, key: str, *, max_len: int | None = None) -> str | None:
        """A string field that may be missing or null."""
        return self.text(key, max_len=max_len) if self.has(key) else None

    def integer(self, key: str, *, minimum: int = 0) -> int:
        """A required integer field (booleans are not integers here)."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidEnvelope(
                f"'{key}' of {self._what} must be an integer, not {type_name(value)}", key
            )
        if value < minimum:
            raise InvalidEnvelope(f"'{key}' of {self._what} must be at least {minimum}", key)
        return value

    def optional_integer(self, key: str, *, minimum: int = 0) -> int | None:
        """An integer field that may be missing or null."""
        return self.integer(key, minimum=minimum) if self.has(key) else None

    def boolean(self, key: str, *, default: bool = False) -> bool:
        """A boolean field with a default when missing."""
        if not self.has(key):
            return default
        value = self._obj[key]
        if not isinstance(value, bool):
            raise InvalidEnvelope(
                f"'{key}' of {self._what} must be true or false, not {type_name(value)}", key
            )
        return value

    def number(self, key: str, *, minimum: float = 0.0) -> float:
        """A required finite number field, integer or not (booleans are not numbers)."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidEnvelope(
                f"'{key}' of {self._what} must be a number, not {type_name(value)}", key
            )
        if not value >= minimum:
            raise InvalidEnvelope(f"'{key}' of {self._what} must be at least {minimum}", key)
        return float(value)

    def sub(self, key: str) -> Fields:
        """A required field holding an object, read strictly in its turn."""
        return Fields(self.raw(key), f"'{key}' of {self._what}")

    def names(self, key: str) -> tuple[str, ...]:
        """A required list of strings."""
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidEnvelope(f"'{key}' of {self._what} must be a list of strings", key)
        return tuple(value)

    def finish(self) -> None:
        """Refuse any key that no getter asked for."""
        unknown = sorted(set(self._obj) - self._known)
        if unknown:
            raise InvalidEnvelope(f"{self._what} has an unknown field '{unknown[0]}'", unknown[0])


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
