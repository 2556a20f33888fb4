"""A window people keep open all day: notifications, unread counts, mentions, writing and
reading (multi-line, links, context menu, days, history), look, and words for people."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import qasync
from desktop_notifier import DEFAULT_SOUND
from PySide6.QtCore import QLocale, QObject, QPoint, QPointF, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyleOptionViewItem,
)

from desktopchat import __version__
from desktopchat.app.notifier import SystemNotifier
from desktopchat.client import SessionState
from desktopchat.gui.about import about_text
from desktopchat.gui.attention import COUNT_MS
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.notifications import UPDATE_SECONDS, Notifications
from desktopchat.gui.panes.links import find_links, mentions
from desktopchat.gui.panes.message_delegate import MessageDelegate
from desktopchat.gui.panes.message_model import ROW_ROLE, MessageListModel, MessageRow
from desktopchat.gui.panes.when import clock, day_label, day_line
from desktopchat.gui.recent import Remembered, SettingsStore
from desktopchat.paths import log_file
from desktopchat.protocol import Kind
from tests.gui.conftest import WindowFactory, until
from tests.gui.rooms import answer, free_port, host_and_guest, host_room, texts

DAY_MS = 86_400_000
NOON = 1_795_000_000_000 - 1_795_000_000_000 % DAY_MS + DAY_MS // 2  # a UTC noon


@dataclass
class FakeNotifier:
    """A notification backend that records what the desktop would show."""

    shown: dict[str, tuple[str, str]] = field(default_factory=dict)
    clicks: dict[str, Callable[[], None]] = field(default_factory=dict)
    log: list[tuple[str, ...]] = field(default_factory=list)
    sounds: list[str] = field(default_factory=list)

    def show(
        self,
        key: str,
        title: str,
        body: str,
        on_click: Callable[[], None],
        sound: bool = False,
    ) -> None:
        self.shown[key] = (title, body)
        self.clicks[key] = on_click
        self.log.append(("show", key, title, body))
        if sound:
            self.sounds.append(title)

    def withdraw(self, key: str) -> None:
        self.shown.pop(key, None)
        self.log.append(("withdraw", key))


def row(n: int, **fields: object) -> MessageRow:
    base: dict[str, object] = {"time": NOON + n, "sender": "ada", "kind": Kind.TEXT}
    base.update({"text": f"message {n}", "id": n})
    base.update(fields)
    return MessageRow(**base)  # type: ignore[arg-type]


# -- knowing that something arrived ----------------------------------------------------------


def notifications(**remembered: object) -> tuple[Notifications, FakeNotifier, list[float]]:
    fake = FakeNotifier()
    now = [1000.0]
    centre = Notifications(Remembered(**remembered), fake, clock=lambda: now[0])  # type: ignore[arg-type]
    centre.enter("room-a")
    return centre, fake, now


def test_one_notification_per_room_updated_with_the_count() -> None:
    centre, fake, now = notifications()
    centre.arrived(row(1, sender="bob", text="lunch?"), watching=False)
    assert fake.shown == {"room-a": ("bob in #room-a", "lunch?")}
    now[0] += UPDATE_SECONDS
    centre.arrived(row(2, sender="cy", text="yes"), watching=False)
    assert fake.shown == {"room-a": ("2 new messages in #room-a", "cy: yes")}
    assert centre.unread == 2
    centre.read()
    assert fake.shown == {}
    assert centre.unread == 0


def test_nothing_for_the_room_being_looked_at_or_for_our_own_messages() -> None:
    centre, fake, _now = notifications()
    centre.arrived(row(1, sender="bob"), watching=True)
    centre.arrived(row(2, own=True), watching=False)
    assert fake.log == []
    assert centre.unread == 0


def test_mute_and_mentions_only_let_mentions_through_and_an_hour_of_quiet_none() -> None:
    centre, fake, now = notifications()
    centre.set_level("mentions")
    centre.arrived(row(1, sender="bob", text="hi all"), watching=False)
    assert fake.log == []
    assert centre.unread == 1, "still counted as unread"
    centre.arrived(row(2, sender="bob", text="@me look", mentioned=True), watching=False)
    assert fake.shown["room-a"][0].startswith("bob mentioned you in #room-a")
    centre.set_level("none")
    now[0] += UPDATE_SECONDS
    centre.arrived(row(3, sender="bob", text="@me again", mentioned=True), watching=False)
    assert len(fake.log) == 2, "a mention notifies even in a muted room"
    centre.mute_for(3600)
    centre.arrived(row(4, sender="bob", text="@me now", mentioned=True), watching=False)
    assert len(fake.log) == 2, "an hour of quiet is quiet"
    now[0] += 3601
    assert not centre.muted
    centre.set_level("all")
    assert centre.level == "all"


def test_a_burst_updates_the_notification_every_few_seconds_not_per_message() -> None:
    centre, fake, now = notifications()
    shown_at = now[0]
    for n in range(2000):  # 2 000 messages in 20 s
        now[0] += 0.01
        before = len(fake.log)
        centre.arrived(row(n, sender="bot", text=f"line {n}"), watching=False)
        if len(fake.log) > before:
            shown_at = now[0]
        elif centre._update.isActive() and now[0] - shown_at >= UPDATE_SECONDS:
            centre.update_now()  # the timer's moment, on the test's clock
            shown_at = now[0]
    shows = [entry for entry in fake.log if entry[0] == "show"]
    assert 2 <= len(shows) <= 20 / UPDATE_SECONDS + 2, len(shows)
    now[0] += UPDATE_SECONDS
    centre.update_now()
    assert fake.shown["room-a"] == ("2000 new messages in #room-a", "bot: line 1999")


def test_a_mention_or_a_direct_message_comes_with_a_sound_when_asked_for() -> None:
    centre, fake, _now = notifications()
    centre.enter("room-a")
    centre.arrived(row(1, sender="bob", text="@me look", mentioned=True), watching=False)
    assert fake.sounds == [], "no sound unless chosen"
    centre.read()
    centre.sound = True
    centre.arrived(row(2, sender="bob", text="plain"), watching=False)
    centre.arrived(row(3, sender="bob", text="(direct to you) hi", mentioned=True), watching=False)
    assert len(fake.sounds) == 1, "only what calls for us rings"
    assert fake.sounds[0].startswith("bob mentioned you")


def test_a_mention_stays_the_notification_until_seen() -> None:
    centre, fake, now = notifications()
    centre.arrived(row(1, sender="bob", text="@me the build broke", mentioned=True), False)
    assert fake.shown["room-a"] == ("bob mentioned you in #room-a", "@me the build broke")
    for n in range(2, 50):
        now[0] += 0.1
        centre.arrived(row(n, sender="bot", text="chatter"), watching=False)
    now[0] += UPDATE_SECONDS
    centre.update_now()
    title, body = fake.shown["room-a"]
    assert title == "bob mentioned you in #room-a · 49 new messages"
    assert body == "@me the build broke", "not replaced by an ordinary message"
    centre.read()
    assert fake.shown == {}
    centre.arrived(row(60, sender="cy", text="hi"), watching=False)
    assert fake.shown["room-a"] == ("cy in #room-a", "hi"), "after reading, afresh"


def test_hidden_previews_say_who_but_not_what() -> None:
    centre, fake, _now = notifications(hide_previews=True)
    centre.arrived(row(1, sender="bob", text="the secret plan"), watching=False)
    assert "secret" not in "".join(fake.shown["room-a"])
    assert fake.shown["room-a"][1] == "New message from bob"


def test_a_message_for_an_unfocused_window_notifies_counts_and_a_click_opens_the_room(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    fake = FakeNotifier()

    async def scenario() -> None:
        port = free_port()
        host = make_window()
        await host_room(host, port)
        guest = make_window(notifier=fake)
        await join_room_as(guest, port, "guest")
        guest.room_view.tabs.setCurrentWidget(guest.room_view.json_pane)
        host.activateWindow()
        await until(lambda: not guest.attention.watching(), "the guest window to be in the back")
        host.controller.send_text("hello @guest")
        await until(lambda: fake.shown, "a notification")
        ((key, (title, body)),) = fake.shown.items()
        assert (title, body) == ("hoster mentioned you in #chat", "hello @guest")
        assert guest.windowTitle() == "(1) #chat — desktopchat"
        model = guest.room_view.models[Kind.TEXT]
        model.flush()
        assert model.row_at(model.rowCount() - 1).mentioned
        host.controller.send_text("and another")
        await until(lambda: guest.attention.notifications.unread == 2, "two unread")
        await until(lambda: "2 new messages" in fake.shown[key][0], "the count", UPDATE_SECONDS * 2)
        assert fake.shown[key] == ("hoster mentioned you in #chat · 2 new messages", "hello @guest")
        assert len(fake.shown) == 1, "one notification for the room, replaced"
        await until(lambda: guest.windowTitle() == "(2) #chat — desktopchat", "the new count")
        fake.clicks[key]()  # the user clicks the notification
        await until(lambda: guest.isActiveWindow(), "the guest window to come to the front")
        assert guest.room_view.tabs.currentWidget() is guest.room_view.text_pane
        await until(lambda: guest.windowTitle() == "#chat — desktopchat", "the count to clear")
        assert fake.shown == {}, "the notification is withdrawn once the room is seen"
        host.controller.send_text("while looking")
        await until(lambda: "while looking" in texts(guest), "the message while looking")
        assert fake.shown == {}

    qloop.run_until_complete(scenario())


def test_a_burst_in_a_background_room_retitles_the_window_a_few_times_not_per_message(
    make_window: WindowFactory,
) -> None:
    window = make_window(notifier=FakeNotifier())
    assert not window.attention.watching()  # not in the room: it is in the background
    window.attention.set_title("#busy — desktopchat")
    titles: list[str] = []
    window.windowTitleChanged.connect(titles.append)
    for n in range(200):
        window.attention.arrived(row(n, sender="bot"))
    assert titles == ["(1) #busy — desktopchat"], "the first shows at once"
    QTest.qWait(COUNT_MS * 3)
    assert titles[-1] == "(200) #busy — desktopchat"
    assert len(titles) == 2, "the rest of the burst: one change"
    window.attention.notifications.read()
    assert titles[-1] == "#busy — desktopchat", "seen: cleared at once"


class SlowBus:
    """desktop-notifier's calls, each answered after a round trip of the bus; ``service``
    False: nobody is on the bus (sends are never dispatched); a send titled ``failing``
    raises."""

    def __init__(self, service: bool = True, failing: str | None = None) -> None:
        self.service = service
        self.failing = failing
        self.sent: list[str] = []
        self.cleared: list[str] = []
        self.sounds: list[object] = []

    async def send(
        self,
        title: str,
        body: str,
        on_clicked: Callable[[], None],
        on_dispatched: Callable[[], None],
        thread: str,
        sound: object = None,
    ) -> str:
        if sound is not None:
            self.sounds.append(sound)
        if title == self.failing:
            raise RuntimeError("the bus broke")
        await asyncio.sleep(0.02)
        if not self.service:
            return "lost"
        on_dispatched()
        self.sent.append(title)
        return f"n{len(self.sent)}"

    async def clear(self, identifier: str) -> None:
        await asyncio.sleep(0.02)
        self.cleared.append(identifier)


def test_a_burst_of_messages_replaces_the_desktop_notification_with_the_newest_only() -> None:
    async def scenario() -> None:
        bus = SlowBus()
        notifier = SystemNotifier(notifier=bus)  # type: ignore[arg-type]
        notifier.show("chat", "ada in #chat", "hi", lambda: None)
        await asyncio.sleep(0.01)  # on the bus now
        for n in range(2, 101):
            notifier.show("chat", f"{n} new messages in #chat", "…", lambda: None)
        notifier.show("other", "bob in #other", "yo", lambda: None)
        await notifier.close()
        assert bus.sent == ["ada in #chat", "bob in #other", "100 new messages in #chat"]
        assert bus.cleared == ["n1"], "the room's first notification made way for the newest"
        notifier.withdraw("chat")
        notifier.withdraw("other")
        await notifier.close()
        assert sorted(bus.cleared) == ["n1", "n2", "n3"]

    asyncio.run(scenario())


def test_a_notification_with_a_sound_asks_the_desktop_for_its_default_one() -> None:
    async def scenario() -> None:
        bus = SlowBus()
        notifier = SystemNotifier(notifier=bus)  # type: ignore[arg-type]
        notifier.show("chat", "bob mentioned you", "hi", lambda: None, sound=True)
        notifier.show("other", "ada in #other", "hi", lambda: None)
        await notifier.close()
        assert bus.sounds == [DEFAULT_SOUND]

    asyncio.run(scenario())


def test_a_notification_service_found_missing_mid_burst_hands_everything_to_the_tray() -> None:
    async def scenario() -> None:
        tray = FakeNotifier()
        bus = SlowBus(service=False)
        notifier = SystemNotifier(notifier=bus, fallback=tray)  # type: ignore[arg-type]
        notifier.show("chat", "ada in #chat", "hi", lambda: None)
        await asyncio.sleep(0.01)  # on the bus
        notifier.withdraw("chat")  # the room was seen meanwhile
        await notifier.close()
        assert notifier.broken
        assert tray.log == [("show", "chat", "ada in #chat", "hi"), ("withdraw", "chat")]

    asyncio.run(scenario())


def test_a_failing_notification_does_not_stop_the_rooms_next_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        bus = SlowBus(failing="bad")
        notifier = SystemNotifier(notifier=bus)  # type: ignore[arg-type]
        notifier.show("chat", "bad", "", lambda: None)
        await asyncio.sleep(0)
        notifier.show("chat", "good", "", lambda: None)
        await notifier.close()
        assert bus.sent == ["good"]
        assert "a notification for chat failed" in caplog.text

    asyncio.run(scenario())


def test_the_urgency_hint_is_raised_once_until_the_room_is_seen(
    make_window: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts: list[object] = []
    monkeypatch.setattr(QApplication, "alert", lambda window, *_: alerts.append(window))
    window = make_window(notifier=FakeNotifier())
    window.hide()
    window.attention.arrived(row(1, sender="bot"))  # hidden (in the tray): no hint
    window.show()
    for n in range(2, 5):
        window.attention.arrived(row(n, sender="bot"))
    assert alerts == [window], "once, for the first message it could be raised for"
    window.attention.notifications.read()
    window.attention.arrived(row(5, sender="bot"))
    assert alerts == [window, window]


async def join_room_as(window: MainWindow, port: int, name: str) -> None:
    window.start_page.join_button.click()
    window.join_page.address.setText(f"127.0.0.1:{port}")
    window.join_page.name.setText(name)
    window.join_page.join.click()
    await until(lambda: window.controller.state is SessionState.OPEN, f"{name} to join")


def test_the_tray_is_only_offered_where_there_is_one(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        without = make_window(tray=False)
        await host_room(without, free_port())
        without.close()
        assert without.confirmation is not None
        labels = [b.text() for b in without.confirmation.buttons()]
        assert "Keep hosting in the tray" not in labels
        answer(without.confirmation, "Cancel")
        await without.shutdown()

        with_tray = make_window(tray=True)
        assert with_tray.attention.tray is not None
        await host_room(with_tray, free_port())
        with_tray.close()
        assert with_tray.confirmation is not None
        answer(with_tray.confirmation, "Keep hosting in the tray")
        assert not with_tray.isVisible()
        assert with_tray.controller.hosting, "the room keeps running from the tray"
        with_tray.attention.tray.showRequested.emit()
        assert with_tray.isVisible()
        with_tray.attention.tray.set_unread(3)
        assert with_tray.attention.tray.toolTip() == "desktopchat: 3 unread"
        with_tray.attention.tray.quitRequested.emit()  # Quit asks, without the tray choice
        assert with_tray.confirmation is not None
        assert "Keep hosting in the tray" not in [
            b.text() for b in with_tray.confirmation.buttons()
        ]
        closed: list[bool] = []
        with_tray.closed.connect(lambda: closed.append(True))
        answer(with_tray.confirmation, "Stop and close")
        assert closed == [True], "the app quits (its shutdown stops the room)"

    qloop.run_until_complete(scenario())


# -- writing and reading ---------------------------------------------------------------------


def test_shift_enter_breaks_the_line_and_enter_sends_it_whole(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, _port = await host_and_guest(make_window)
        entry = guest.room_view.text_pane.entry
        QTest.keyClicks(entry, "first line")
        QTest.keyClick(entry, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        QTest.keyClicks(entry, "second line")
        assert entry.text() == "first line\nsecond line"
        assert entry.height() > entry.fontMetrics().lineSpacing() * 2, "the box grew"
        QTest.keyClick(entry, Qt.Key.Key_Return)
        assert entry.text() == ""
        await until(lambda: "first line\nsecond line" in texts(host), "the two lines")

    qloop.run_until_complete(scenario())


def test_links_are_found_with_their_punctuation_left_out() -> None:
    text = "see https://example.org/a_(b). or www.python.org, mailto:x@y.z and note: this"
    assert [link.url for link in find_links(text)] == [
        "https://example.org/a_(b)",
        "https://www.python.org",
        "mailto:x@y.z",
    ]
    (odd,) = find_links("open smb://server/share now")
    assert odd.unusual
    assert not find_links("https://")
    assert mentions("hi @Ada!", "ada")
    assert not mentions("hi @adam", "ada")
    assert not mentions("mail ada@example.org", "ada")


class Opened(QObject):
    """Catches what QDesktopServices would open (its handler for a scheme)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def test_a_click_on_a_link_opens_it_and_an_unusual_scheme_asks_first(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    opened = Opened()
    for scheme in ("https", "smb"):
        QDesktopServices.setUrlHandler(scheme, opened, "open")  # type: ignore[arg-type]
    try:
        window = make_window()
        room = window.room_view
        window.pages.setCurrentWidget(room)
        room.add_row(row(1, text="docs at https://example.org/guide and smb://nas/share"))
        room.models[Kind.TEXT].flush()
        view = room.text_pane.view
        QTest.qWait(50)
        index = view.model().index(0, 0)
        delegate = view.itemDelegate()
        assert isinstance(delegate, MessageDelegate)
        option = QStyleOptionViewItem()
        view.initViewItemOption(option)
        option.rect = view.visualRect(index)
        spots = {
            delegate.link_at(option, index, QPointF(x, y)): QPoint(x, y)
            for x in range(option.rect.left(), option.rect.right(), 4)
            for y in range(option.rect.top(), option.rect.bottom(), 3)
        }
        assert {"https://example.org/guide", "smb://nas/share"} <= set(spots)
        QTest.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=spots["https://example.org/guide"]
        )
        assert opened.urls == ["https://example.org/guide"]
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=spots["smb://nas/share"])
        assert opened.urls == ["https://example.org/guide"], "not opened without asking"
        question = room.link_question
        assert question is not None
        assert "smb://nas/share" in question.text()
        answer(question, "Open")
        assert opened.urls[-1] == "smb://nas/share"
    finally:
        for scheme in ("https", "smb"):
            QDesktopServices.unsetUrlHandler(scheme)


def test_a_links_ampersands_show_in_the_context_menu(make_window: WindowFactory) -> None:
    window = make_window()
    message = row(8, sender="bob", text="see https://example.org/?a=1&b=2")
    menu = window.room_view.text_pane.view.message_menu(message)
    opens = [a for a in menu.actions() if a.text().startswith("Open ")]
    (open_link,) = opens
    # Qt shows "&&" as one "&" (a single one would mark a mnemonic and vanish).
    assert open_link.text() == "Open https://example.org/?a=1&&b=2"


def test_file_dialogs_open_in_the_users_folders_not_the_working_folder(
    make_window: WindowFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    window = make_window()
    room = window.room_view
    room._ask_where_to_export()
    assert room.export_dialog is not None
    where = Path(room.export_dialog.directory().absolutePath())
    assert where != tmp_path
    assert where in (Path.home(), Path.home() / "Downloads") or "Download" in where.name
    room.export_dialog.reject()


def test_the_context_menu_copies_text_and_json_and_replies(make_window: WindowFactory) -> None:
    window = make_window()
    room = window.room_view
    message = row(7, sender="bob", text="can you review https://example.org/pr/1 ?")
    menu = room.text_pane.view.message_menu(message)
    actions = {action.text(): action for action in menu.actions() if action.text()}
    assert {"Copy text", "Copy as JSON", "Reply", "Open https://example.org/pr/1"} <= set(actions)
    actions["Copy text"].trigger()
    assert QGuiApplication.clipboard().text() == message.text
    actions["Copy as JSON"].trigger()
    copied = json.loads(QGuiApplication.clipboard().text())
    assert copied == {
        "id": 7,
        "time": message.time,
        "sender": "bob",
        "type": "text",
        "text": message.text,
    }
    room.text_pane.entry.setPlainText("sounds good")
    actions["Reply"].trigger()
    assert room.text_pane.entry.text() == f"> bob: {message.text}\nsounds good"
    binary = row(8, kind=Kind.BINARY, payload=b"\x89PNG", name="shot.png", mime="image/png")
    labels = [action.text() for action in room.binary_pane.view.message_menu(binary).actions()]
    assert "Save file…" in labels
    assert "Copy text" not in labels


def test_days_are_separated_and_times_follow_the_locale(qapp: QApplication) -> None:
    saved = QLocale()
    try:
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
        assert "M" in clock(NOON), "12-hour clock with AM/PM in the US"
        QLocale.setDefault(QLocale(QLocale.Language.German, QLocale.Country.Germany))
        assert "M" not in clock(NOON)
    finally:
        QLocale.setDefault(saved)
    today = datetime.date(2026, 11, 29)
    assert day_label(today, today) == "Today"
    assert day_label(today - datetime.timedelta(days=1), today) == "Yesterday"
    assert "2026" in day_label(datetime.date(2026, 1, 3), today)

    model = MessageListModel()
    for n, day in enumerate((0, 0, 1)):
        model.append(row(n, time=NOON + day * DAY_MS + n))
    model.flush()
    lines = []
    for n in range(3):
        above = model.shown(n - 1)
        lines.append(day_line(model.row_at(n).time, above.time if above is not None else None))
    assert [line is not None for line in lines] == [True, False, True]
    tip = model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith("· ada")
    assert "2026" in tip, "the full date on hover"


def test_own_message_takes_the_servers_place_and_time() -> None:
    model = MessageListModel()
    model.append(row(0, id=None, time=NOON + 999_999, own=True, delivered=False, cid="c1"))
    model.append(row(5))  # another member's message, stored after ours
    model.flush()
    assert model.mark_delivered("c1", 4, at=NOON + 4)
    assert [(r.id, r.time) for r in map(model.row_at, range(2))] == [(4, NOON + 4), (5, NOON + 5)]
    assert model.row_at(0).delivered


def test_scrolling_to_the_top_asks_for_older_messages(make_window: WindowFactory) -> None:
    window = make_window()
    room = window.room_view
    window.pages.setCurrentWidget(room)
    for n in range(200):
        room.add_row(row(n + 1000))
    room.models[Kind.TEXT].flush()
    asked: list[bool] = []
    room.olderRequested.connect(lambda: asked.append(True))
    view = room.text_pane.view
    QTest.qWait(50)
    bar = view.verticalScrollBar()
    model = room.models[Kind.TEXT]
    for _ in range(10):  # the rows held back come first, a page at a time
        if not model.hidden:
            break
        bar.setValue(bar.maximum() // 2)
        bar.setValue(0)
        QTest.qWait(20)
    assert model.hidden == 0
    assert not asked
    bar.setValue(bar.maximum() // 2)
    bar.setValue(0)
    QTest.qWait(20)
    assert asked == [True]
    assert not room.older.isEnabled(), "one page at a time"


def test_search_all_history_loads_every_page_so_the_filter_finds_old_messages(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, _port = await host_and_guest(make_window)
        for n in range(260):
            host.controller.send_text(f"needle {n}" if n == 3 else f"hay {n}")
        await until(lambda: len(texts(guest)) >= 260 or "hay 259" in texts(guest), "all sent")
        late = make_window()
        await join_room_as(late, _port, "late")
        # The newest page follows the welcome; "search all" pages back from what is shown.
        await until(lambda: "hay 259" in texts(late), "the newest page")
        shown = len(texts(late))
        assert "needle 3" not in texts(late), "only the newest page is sent on joining"
        late.room_view.search_all.click()
        await until(lambda: "needle 3" in texts(late), "the whole history")
        assert len(texts(late)) > shown
        late.room_view.filter.setText("needle")
        assert late.room_view.text_pane.proxy.rowCount() == 1
        await until(lambda: not late.room_view.search_all.isEnabled(), "nothing older left")

    qloop.run_until_complete(scenario())


# -- look, members, words --------------------------------------------------------------------


def test_text_size_follows_ctrl_plus_and_minus_and_is_remembered(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    settings = tmp_path / "zoom.json"
    window = make_window(settings)
    view = window.room_view.text_pane.view
    before = view.font().pointSizeF()
    window.looks.zoom(1)
    window.looks.zoom(1)
    assert window.remembered.text_size == round(before) + 2
    window.room_view.ensurePolished()
    assert f"font-size: {round(before) + 2}pt" in view.styleSheet()
    window.close()
    again = make_window(settings)
    assert again.remembered.text_size == round(before) + 2
    assert f"{round(before) + 2}pt" in again.room_view.text_pane.entry.styleSheet()
    again.looks.zoom(0)
    assert again.room_view.text_pane.view.styleSheet() == ""


def test_the_app_has_its_own_dark_theme_and_follows_the_desktop_by_default(
    qapp: QApplication, make_window: WindowFactory, tmp_path: Path
) -> None:
    desktop = qapp.palette().color(QPalette.ColorRole.Base)
    settings = tmp_path / "theme.json"
    window = make_window(settings)
    assert window.remembered.theme == "system"
    try:
        window.menus.themes["dark"].trigger()
        assert qapp.palette().color(QPalette.ColorRole.Base).lightness() < 60
        window.close()
        assert SettingsStore(settings).load().theme == "dark"
    finally:
        window.menus.themes["system"].trigger()
    assert qapp.palette().color(QPalette.ColorRole.Base) == desktop


def test_the_member_list_marks_you_and_the_host(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, _port = await host_and_guest(make_window)

        def shown(window: MainWindow) -> list[str]:
            members = window.room_view.members
            return [members.index(n).data() for n in range(members.rowCount())]

        await until(lambda: len(shown(host)) == 2, "both members")
        assert shown(host) == ["hoster (you, host)", "guest"]
        assert shown(guest) == ["hoster (host)", "guest (you)"]
        assert guest.room_view.members.stringList() == ["hoster", "guest"]

    qloop.run_until_complete(scenario())


def test_retry_now_shows_while_reconnecting_and_reconnects(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, port = await host_and_guest(make_window)
        assert not guest.room_view.retry.isVisible()
        await host.controller.hoster.stop()
        await until(lambda: guest.controller.state is SessionState.RECONNECTING, "reconnecting")
        assert guest.room_view.retry.isVisible()
        assert guest.room_view.state.text().startswith("The host stopped the room: reconnecting")
        await host_room(make_window(), port)
        guest.room_view.retry.click()
        await until(lambda: guest.controller.state is SessionState.OPEN, "back", within=5)
        assert not guest.room_view.retry.isVisible()

    qloop.run_until_complete(scenario())


def test_a_first_run_hint_until_dismissed_and_an_about_box(
    make_window: WindowFactory, tmp_path: Path
) -> None:
    settings = tmp_path / "first.json"
    window = make_window(settings)
    assert window.start_page.hint.isVisible()
    buttons = window.start_page.hint.findChildren(QPushButton)
    next(b for b in buttons if b.text() == "Got it").click()
    assert not window.start_page.hint.isVisible()
    assert not make_window(settings).start_page.hint.isVisible()
    text = about_text()
    assert __version__ in text
    assert str(log_file()) in text
    # The About box is in the Help menu.
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert isinstance(help_menu, QMenu)
    next(a for a in help_menu.actions() if a.text() == "About desktopchat").trigger()
    assert isinstance(window.about, QMessageBox)
    assert __version__ in window.about.text()
    window.about.close()


def test_a_mailto_that_attaches_a_file_asks_before_it_opens(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    opened = Opened()
    QDesktopServices.setUrlHandler("mailto", opened, "open")  # type: ignore[arg-type]
    try:
        room = make_window().room_view
        room.open_link("mailto:ada@example.org?subject=hi&body=thanks")
        assert opened.urls == ["mailto:ada@example.org?subject=hi&body=thanks"]
        sneaky = "mailto:ada@example.org?subject=hi&attach=file:///home/me/.ssh/id_ed25519"
        room.open_link(sneaky)
        assert len(opened.urls) == 1, "not opened without asking"
        assert room.link_question is not None
        assert sneaky in room.link_question.text()
    finally:
        QDesktopServices.unsetUrlHandler("mailto")


def lines_above(window: MainWindow) -> dict[str, str]:
    """Text message → the line drawn above it, for rows that have one."""
    pane = window.room_view.text_pane
    window.room_view.models[Kind.TEXT].flush()
    delegate = pane.view.itemDelegate()
    assert isinstance(delegate, MessageDelegate)
    found = {}
    for n in range(pane.proxy.rowCount()):
        index = pane.proxy.index(n, 0)
        line = delegate.line_above(index)
        if line is not None:
            found[index.data(ROW_ROLE).text] = line
    return found


def test_history_read_before_is_not_new_on_a_rejoin_and_a_line_marks_where_new_begins(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    fake = FakeNotifier()

    async def scenario() -> None:
        port = free_port()
        host = make_window()
        await host_room(host, port)
        guest = make_window(tmp_path / "guest.json", notifier=fake)
        await join_room_as(guest, port, "guest")
        guest.activateWindow()
        await until(guest.attention.watching, "the guest to look at the room")
        for text in ("one", "two"):
            host.controller.send_text(text)
        await until(lambda: texts(guest)[-1:] == ["two"], "two messages read")
        assert "New messages" not in str(lines_above(guest)), "no line when all was seen"
        guest.room_view.leave.click()
        await until(lambda: guest.pages.currentWidget() is guest.start_page, "left")
        host.controller.send_text("three")
        await until(lambda: texts(host)[-1:] == ["three"], "a message while away")
        again = make_window(tmp_path / "guest.json", notifier=fake)
        host.activateWindow()
        await until(lambda: not again.isActiveWindow(), "the guest's new window in the back")
        await join_room_as(again, port, "guest")
        await until(lambda: texts(again)[-3:] == ["one", "two", "three"], "the history again")
        await until(
            lambda: again.attention.notifications.unread == 1,
            f"one new message ({again.attention.notifications.unread})",
        )
        await asyncio.sleep(0.3)
        assert again.attention.notifications.unread == 1, "the history read before is not new"
        assert lines_above(again)["three"].startswith("New messages")
        assert not lines_above(again).get("one", "").startswith("New")

        again.activateWindow()
        await until(again.attention.watching, "the guest back in front")
        host.controller.send_text("four")
        await until(lambda: texts(again)[-1:] == ["four"], "a message seen as it comes")
        assert lines_above(again)["three"].startswith("New messages"), "the line stays"
        host.activateWindow()
        await until(lambda: not again.attention.watching(), "the guest in the back again")
        host.controller.send_text("five")
        await until(lambda: texts(again)[-1:] == ["five"], "a message unseen")
        assert lines_above(again)["five"].startswith("New messages"), "the line moves on"
        assert "three" not in lines_above(again)
        again.controller.send_json_text('{"mine": true}')
        json_pane = again.room_view.json_pane
        await until(lambda: json_pane.proxy.rowCount() == 1, "our JSON")
        delegate = json_pane.view.itemDelegate()
        assert isinstance(delegate, MessageDelegate)
        await until(lambda: json_pane.proxy.index(0, 0).data(ROW_ROLE).id, "its place")
        line = delegate.line_above(json_pane.proxy.index(0, 0)) or ""
        assert not line.startswith("New"), "never above our own message"

    qloop.run_until_complete(scenario())
