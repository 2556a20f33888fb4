"""Times and dates as the user's locale writes them (12- or 24-hour, day names, order)."""

from __future__ import annotations

import datetime

from PySide6.QtCore import QDate, QDateTime, QLocale


def _local(ms: int) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(ms).toLocalTime()


def clock(ms: int) -> str:
    """The time of day, as the locale writes it short (``14:05`` or ``2:05 PM``)."""
    return QLocale().toString(_local(ms).time(), QLocale.FormatType.ShortFormat)


def full_date(ms: int) -> str:
    """Date and time in full, for a tooltip (``Sunday, 29 November 2026 14:05:09``)."""
    moment = _local(ms)
    locale = QLocale()
    day = locale.toString(moment.date(), QLocale.FormatType.LongFormat)
    return f"{day} {locale.toString(moment.time(), QLocale.FormatType.LongFormat)}"


def day_of(ms: int) -> datetime.date:
    """The local calendar day of ``ms``, to tell where a day separator goes (asked for every
    row the list lays out: the C library's local time, not a round trip through Qt)."""
    return datetime.date.fromtimestamp(ms / 1000)


def day_label(day: datetime.date, today: datetime.date | None = None) -> str:
    """A day separator's words: ``Today``, ``Yesterday`` or the locale's long date."""
    today = today or datetime.date.today()
    if day == today:
        return "Today"
    if day == today - datetime.timedelta(days=1):
        return "Yesterday"
    return QLocale().toString(QDate(day.year, day.month, day.day), QLocale.FormatType.LongFormat)


def day_line(ms: int, above: int | None) -> str | None:
    """The day separator over a row of time ``ms`` when ``above`` is the time of the row shown
    above it (None for the first row): the first row, and a row on a new day, have one."""
    day = day_of(ms)
    if above is not None and day_of(above) == day:
        return None
    return day_label(day)
