"""The real window, offscreen: host in one window, join from another, talk in every format."""

from __future__ import annotations

import gc
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import keyring
import qasync
from keyring.backends.fail import Keyring as FailKeyring
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QToolButton
from pytestqt.qtbot import QtBot

from desktopchat.app.hosting import ServerHoster
from desktopchat.client import Session, SessionState
from desktopchat.client.pinning import KnownHosts
from desktopchat.gui.controller import ChatController
from desktopchat.gui.host_page import HostPage
from desktopchat.gui.hosting import HostInfo, HostOptions
from desktopchat.gui.main_window import MainWindow
from desktopchat.gui.recent import RecentRoom, SettingsStore
from desktopchat.gui.room_view import WAITING
from desktopchat.gui.vault import TokenVault
from desktopchat.protocol import Kind
from desktopchat.server import Settings
from tests.gui.conftest import MemoryKeyring, WindowFactory, until
from tests.gui.rooms import answer, count, free_port, host_and_guest, host_room, join_room, texts


def test_two_windows_host_join_and_talk_in_text_json_and_binary(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        port = free_port()
        host, guest = make_window(), make_window()
        await host_room(host, port)
        assert host.room_view.hosting.isVisible()
        await join_room(guest, f"127.0.0.1:{port}", "guest")
        await until(lambda: guest.controller.state is SessionState.OPEN, "the guest to join")
        await until(
            lambda: host.room_view.members.stringList() == ["hoster", "guest"],
            "the host to see the guest",
        )
        assert guest.room_view.members.stringList() == ["hoster", "guest"]

        QTest.keyClicks(guest.room_view.text_pane.entry, "hello host")
        QTest.keyClick(guest.room_view.text_pane.entry, Qt.Key.Key_Return)
        await until(lambda: "hello host" in texts(host), "the text to reach the host")
        guest_model = guest.room_view.models[Kind.TEXT]
        await until(lambda: guest_model.row_at(0).delivered, "the guest's text to be delivered")
        assert guest_model.rowCount() == 1, "our own message is shown once, not twice"
        assert host.room_view.unread(Kind.TEXT) == 0

        editor = guest.room_view.json_pane
        guest.room_view.tabs.setCurrentWidget(editor)
        guest.room_view.sendJson.emit('{"type": "update", "data": [1, 2, 3]}')
        await until(lambda: texts(host, Kind.JSON) == ['{"type":"update","data":[1,2,3]}'], "JSON")
        assert host.room_view.unread(Kind.JSON) == 1

        picture = tmp_path / "dot.bin"
        picture.write_bytes(bytes(range(256)))
        guest.room_view.sendFile.emit(str(picture))
        binary = host.room_view.models[Kind.BINARY]
        await until(lambda: count(binary) == 1, "the file")
        row = binary.row_at(0)
        assert (row.name, row.payload, row.sender) == ("dot.bin", bytes(range(256)), "guest")

    qloop.run_until_complete(scenario())


def test_stopping_the_host_shows_reconnecting_and_starting_again_resumes_without_loss(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, port = await host_and_guest(make_window)
        host.room_view.sendText.emit("before the restart")
        await until(lambda: "before the restart" in texts(guest), "the first message")

        host.room_view.stopHostingRequested.emit()
        await until(lambda: host.confirmation is not None, "the question")
        assert host.confirmation is not None
        assert "disconnects 1 other member." in host.confirmation.text()
        assert host.controller.hosting, "nothing stops before the user answers"
        answer(host.confirmation, "Stop hosting")
        await until(
            lambda: guest.controller.state is SessionState.RECONNECTING,
            "the guest to notice the host left",
        )
        assert "reconnecting" in guest.room_view.state.text()
        guest.room_view.sendText.emit("typed during the outage")
        await until(lambda: host.pages.currentWidget() is host.start_page, "host back at start")

        await host_room(host, port)
        await until(lambda: guest.controller.state is SessionState.OPEN, "the guest to resume")
        await until(lambda: "typed during the outage" in texts(host), "the queued message")
        host.room_view.sendText.emit("after the restart")
        await until(lambda: "after the restart" in texts(guest), "live traffic after resume")
        guest_texts = texts(guest)
        assert guest_texts.count("before the restart") == 1
        assert guest_texts.count("typed during the outage") == 1
        assert texts(host).count("typed during the outage") == 1

    qloop.run_until_complete(scenario())


def test_invalid_json_is_refused_in_the_editor_and_nothing_is_sent(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        port = free_port()
        host = make_window()
        await host_room(host, port)
        pane = host.room_view.json_pane
        sent: list[str] = []
        pane.sendRequested.connect(sent.append)
        host.room_view.tabs.setCurrentWidget(pane)
        editor = pane.editor
        editor.setPlainText('{"unterminated": ')
        QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert sent == []
        assert "line 1" in pane.status.text()
        assert texts(host, Kind.JSON) == []

    qloop.run_until_complete(scenario())


def test_a_busy_port_is_a_readable_message_with_a_free_port_suggested(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            window = make_window()
            window.start_page.host_button.click()
            window.host_page.port.setValue(port)
            window.host_page.who.setCurrentIndex(1)
            window.host_page.start.click()
            await until(lambda: window.host_page.error.isVisible(), "the error to show")
            assert "already in use" in window.host_page.error.text()
            assert window.host_page.port.value() != port
            assert window.pages.currentWidget() is window.host_page

    qloop.run_until_complete(scenario())


def test_join_errors_appear_next_to_the_field_at_fault(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        window = make_window()
        await join_room(window, f"127.0.0.1:{free_port()}", "nobody")
        errors = window.join_page.errors
        await until(lambda: errors["address"].isVisible(), "the address error")
        assert errors["address"].text().startswith("Nobody is hosting at 127.0.0.1:")
        assert "Details: [Errno 111]" in errors["address"].text()  # the code only as detail

        port = free_port()
        host = make_window()
        host.start_page.host_button.click()
        host.host_page.port.setValue(port)
        host.host_page.who.setCurrentIndex(1)
        host.host_page.token.setText("right")
        host.host_page.start.click()
        await until(lambda: host.controller.state is SessionState.OPEN, "the host")
        await join_room(window, f"127.0.0.1:{port}", "nobody", token="wrong")
        await until(lambda: errors["token"].isVisible(), "the token error")
        assert errors["token"].text().startswith("That token is not this room&#x27;s<br>")
        assert "invalid token" in errors["token"].toolTip()  # the close reason, as detail
        assert not errors["address"].isVisible()

    qloop.run_until_complete(scenario())


def test_closing_while_hosting_asks_first_then_stops_cleanly(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        window = make_window()
        await host_room(window, free_port())
        closed: list[bool] = []
        window.closed.connect(lambda: closed.append(True))
        window.close()
        await until(lambda: window.findChildren(QMessageBox), "the question")
        assert closed == [], "nothing closes before the user answers"
        box = window.findChildren(QMessageBox)[0]
        stop = next(b for b in box.findChildren(QPushButton) if b.text() == "Stop and close")
        stop.click()
        await until(lambda: closed == [True], "the window to close")
        await window.shutdown()
        assert not window.controller.hosting

    qloop.run_until_complete(scenario())


def test_void_qt_calls_do_not_leak_references_to_none(make_window: WindowFactory) -> None:
    # PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call and
    # aborts after ~5 000 of them (docs/architecture.md); the pin keeps us off it.
    window = make_window()
    before = sys.getrefcount(None)
    for _ in range(100):
        window.update()
    assert sys.getrefcount(None) >= before - 5


def test_leaving_a_hosted_room_asks_and_cancel_keeps_it_running(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        window = make_window()
        await host_room(window, free_port())
        window.room_view.leave.click()
        await until(lambda: window.confirmation is not None, "the question")
        assert window.confirmation is not None
        assert "nobody else is in it right now" in window.confirmation.text()
        answer(window.confirmation, "Cancel")
        await until(lambda: window.confirmation is None, "the answer")
        assert window.controller.hosting
        assert window.controller.state is SessionState.OPEN
        window.room_view.leave.click()
        await until(lambda: window.confirmation is not None, "the question again")
        assert window.confirmation is not None
        answer(window.confirmation, "Stop and leave")
        await until(lambda: not window.controller.hosting, "hosting to stop")
        await until(lambda: window.pages.currentWidget() is window.start_page, "the start page")

    qloop.run_until_complete(scenario())


def test_a_guest_leaves_without_being_asked(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        _, guest, _ = await host_and_guest(make_window)
        guest.room_view.leave.click()
        await until(lambda: guest.pages.currentWidget() is guest.start_page, "the start page")
        assert guest.confirmation is None

    qloop.run_until_complete(scenario())


def test_enter_in_any_field_submits_the_host_and_join_forms(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        port = free_port()
        host = make_window()
        host.start_page.host_button.click()
        host.host_page.port.setValue(port)
        host.host_page.who.setCurrentIndex(1)
        host.host_page.name.setFocus()
        QTest.keyClicks(host.host_page.name, "ada")
        QTest.keyClick(host.host_page.name, Qt.Key.Key_Return)
        await until(lambda: host.controller.state is SessionState.OPEN, "hosting from Enter")

        for field in ("name", "token"):
            guest = make_window()
            controller = guest.controller
            guest.start_page.join_button.click()
            guest.join_page.address.setText(f"127.0.0.1:{port}")
            line = getattr(guest.join_page, field)
            QTest.keyClicks(line, "x")
            QTest.keyClick(line, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
            await until(
                lambda: controller.session is not None,  # noqa: B023 - awaited at once
                f"joining from Enter in {field}",
            )

    qloop.run_until_complete(scenario())


def test_the_hosted_room_runs_on_a_thread_of_its_own_and_ends_with_the_room(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    def server_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "desktopchat-server"]

    async def scenario() -> None:
        host, guest, _port = await host_and_guest(make_window)
        assert len(server_threads()) == 1, "the room does not share the window's loop"
        assert not gc.isenabled(), "garbage is collected on the window's thread meanwhile"
        guest.controller.send_text("over the thread")
        await until(lambda: "over the thread" in texts(host), "the text through the room")
        host.room_view.leave.click()
        assert host.confirmation is not None
        answer(host.confirmation, "Stop and leave")
        await until(lambda: not host.controller.hosting, "the room to stop")
        await until(lambda: server_threads() == [], "the server's thread to end")
        assert gc.isenabled()

    qloop.run_until_complete(scenario())


def test_leaving_clears_every_detail_view(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, port = await host_and_guest(make_window)
        host.room_view.sendJson.emit('{"secret": 1}')
        host.controller.send_file(__file__)
        view = guest.room_view
        await until(lambda: view.json_pane.pretty.toPlainText(), "the JSON detail")
        await until(lambda: count(view.models[Kind.BINARY]) == 1, "the file")
        view.binary_pane.show_row(view.models[Kind.BINARY].row_at(0))
        assert view.binary_pane.hex_model.rowCount() > 0
        guest.room_view.leave.click()
        await until(lambda: guest.pages.currentWidget() is guest.start_page, "the start page")
        await join_room(guest, f"ws://127.0.0.1:{port}/chat/other", "guest")
        await until(lambda: guest.controller.state is SessionState.OPEN, "the other room")
        view = guest.room_view
        assert guest.pages.currentWidget() is view
        assert view.title.text() == "#other"
        assert view.json_pane.pretty.toPlainText() == ""
        assert view.json_pane.tree_model.rowCount() == 0
        assert view.binary_pane.hex_model.rowCount() == 0
        assert view.binary_pane.current is None
        assert not view.binary_pane.save_button.isEnabled()
        assert view.binary_pane.preview.pixmap().isNull()

    qloop.run_until_complete(scenario())


def test_load_older_messages_fetches_history_past_the_newest_page(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, port = await host_and_guest(make_window)
        for number in range(1, 251):
            host.controller.send_text(f"m{number}")
        await until(lambda: count(guest.room_view.models[Kind.TEXT]) >= 250, "the messages")
        late = make_window()
        await join_room(late, f"127.0.0.1:{port}", "late")
        texts_of = late.room_view.models[Kind.TEXT]
        await until(lambda: count(texts_of) == 200, "the newest page")
        assert texts(late)[0] == "m51"
        late.room_view.older.click()
        await until(lambda: count(texts_of) == 250, "the older page")
        assert texts(late)[:2] == ["m1", "m2"]
        await until(lambda: not late.room_view.older.isEnabled(), "no more")
        assert "up to 16.0 MiB" in late.room_view.binary_pane.status.text()
        late.room_view.filter.setText("m7")
        assert late.room_view.text_pane.proxy.rowCount() >= 1

    qloop.run_until_complete(scenario())


def test_a_tls_room_is_hosted_pinned_shared_by_link_and_asks_about_new_identities(
    qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    def window(number: int) -> MainWindow:
        controller = ChatController(
            ServerHoster(Settings(tls="on", history=None, advertise=False)),
            known_hosts=KnownHosts(tmp_path / f"known-{number}.json"),
        )
        made = MainWindow(controller, SettingsStore(tmp_path / f"settings-{number}.json"))
        made.show()
        return made

    windows = [window(n) for n in range(3)]

    async def scenario() -> None:
        host, linked, asked = windows
        await host_room(host, free_port())
        info = host.controller.host_info
        assert info is not None
        assert info.fingerprint is not None
        assert info.own_url.startswith("wss://")
        shown = host.room_view.hosting.fingerprint.text()
        assert shown.startswith("Identity: SHA256 ")
        assert "Your connection is not private" in shown, "what browser guests will see"
        link = info.links[0]
        assert link.startswith("https://")
        assert f"#fp={info.fingerprint}" in link
        await join_room(linked, link, "linked")
        await until(lambda: linked.controller.state is SessionState.OPEN, "joining by link")
        assert linked.confirmation is None, "the link's fingerprint is trusted without asking"
        await join_room(asked, info.own_url, "asked")
        await until(lambda: asked.confirmation is not None, "the question about the identity")
        assert asked.confirmation is not None
        assert "SHA256" in asked.confirmation.text()
        answer(asked.confirmation, "Trust and join")
        await until(lambda: asked.controller.state is SessionState.OPEN, "joining once trusted")

    try:
        qloop.run_until_complete(scenario())
    finally:
        for made in windows:
            qloop.run_until_complete(made.shutdown())
            made.close()
            made.deleteLater()


def test_rehosting_a_recent_room_brings_back_its_room_port_and_token(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        port = free_port()
        host, guest = make_window(), make_window()
        host.start_page.host_button.click()
        page = host.host_page
        page.room.setText("lobby")
        page.port.setValue(port)
        page.name.setText("hoster")
        page.who.setCurrentIndex(1)
        page.token.setText("s3cret")
        page.start.click()
        await until(lambda: host.controller.state is SessionState.OPEN, "hosting")
        await join_room(guest, f"ws://127.0.0.1:{port}/chat/lobby", "guest", token="s3cret")
        await until(lambda: guest.controller.state is SessionState.OPEN, "the guest")

        host.room_view.leave.click()
        await until(lambda: host.confirmation is not None, "the question")
        assert host.confirmation is not None
        answer(host.confirmation, "Stop and leave")
        await until(lambda: host.pages.currentWidget() is host.start_page, "the start page")
        recent = host.remembered.recent[0]
        assert (recent.hosted, recent.room, recent.port, recent.protected) == (
            True, "lobby", port, True
        )  # fmt: skip
        host.start_page.recentChosen.emit(recent)
        assert (page.room.text(), page.port.value(), page.token.text()) == ("lobby", port, "s3cret")
        page.start.click()
        await until(lambda: host.controller.state is SessionState.OPEN, "hosting again")
        await until(lambda: guest.controller.state is SessionState.OPEN, "the guest is back")
        assert guest.room_view.title.text() == "#lobby"

    qloop.run_until_complete(scenario())


def test_without_a_keyring_rehosting_asks_for_the_token_again(
    qloop: qasync.QEventLoop, make_window: WindowFactory, memory_keyring: MemoryKeyring
) -> None:
    window = make_window()
    room = RecentRoom("ws://127.0.0.1:5100/chat/lab", hosted=True, room="lab", port=5100,
                      lan=False, protected=True)  # fmt: skip
    window.start_page.recentChosen.emit(room)
    assert window.host_page.token.text() == ""
    assert "type it again" in window.host_page.error.text()
    assert window.host_page.room.text() == "lab"


def test_with_no_keyring_at_all_the_token_is_not_kept_and_asked_again(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    keyring.set_keyring(FailKeyring())  # the conftest fixture puts its own back afterwards
    vault = TokenVault()
    assert not vault.save("lab", 5100, "s3cret")
    assert vault.load("lab", 5100) is None
    window = make_window()
    room = RecentRoom("ws://127.0.0.1:5100/chat/lab", hosted=True, room="lab", port=5100,
                      lan=False, protected=True)  # fmt: skip
    window.start_page.recentChosen.emit(room)
    assert window.host_page.token.text() == ""
    assert "type it again" in window.host_page.error.text()


LONG_NAME = "quarterly-report-" * 12 + ".pdf"
FINGERPRINT = "sha256:" + "9f" * 32


def test_no_text_sets_the_windows_minimum_width(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    """Long status lines, file names, errors, identities and links are cut or wrapped: the
    window can always be made as narrow as its controls need, whatever it has shown."""
    window = make_window()
    window.remembered.name = "ada"
    window.open_link("ws://127.0.0.1:9/chat/x")  # the sidebar shows, with a short name
    view = window.room_view
    window.pages.setCurrentWidget(view)
    QApplication.processEvents()
    narrow = max(window.minimumSizeHint().width(), 640)

    def fits(where: str) -> None:
        QApplication.processEvents()  # the layouts take in the new texts
        assert window.minimumSizeHint().width() <= narrow, where

    window.show_status(f"A message was not sent: {LONG_NAME} " * 4)
    window.status.setText(f"Disconnected from {LONG_NAME}: reconnecting in 2.0 s " * 3)
    fits("the status bar")
    view.enter("lobby-" * 20, "ada-" * 30, ["bob-" * 30, "eve"], "host-" * 30)
    fits("the room's names")
    window.open_link(f"ws://{'very-long-host-name-' * 6}.example:5042/chat/{'lobby' * 20}")
    fits("the sidebar's names")
    window.show_conversation(window.conversations[0])
    for index in range(view.tabs.count()):
        view.tabs.setCurrentIndex(index)
        for kind in (Kind.TEXT, Kind.JSON, Kind.BINARY):
            view.show_send_error(
                kind, f"Not sent: {LONG_NAME} is 19.1 MiB, over this room's limit of 16.0 MiB"
            )
        fits(f"tab {view.tabs.tabText(index)}")
    long_link = f"https://192.168.100.200:5042/?room={'lobby' * 20}&token={'t' * 80}"
    view.show_hosting(
        HostInfo(5042, "ws://127.0.0.1:5042/chat", links=(long_link,), token="t" * 80,
                 fingerprint=FINGERPRINT, warning="no network address found: " + LONG_NAME)
    )  # fmt: skip
    fits("the hosting box")
    window.pages.setCurrentWidget(window.join_page)
    window.join_page.show_error(
        "address",
        "This room's identity changed since you last joined: it may be someone else.",
        f"expected {FINGERPRINT}, the server showed {FINGERPRINT.replace('9f', 'a0')}",
    )
    fits("the identity error")
    window.pages.setCurrentWidget(window.host_page)
    window.host_page.show_error(f"Could not host: {LONG_NAME}" * 3)
    fits("the host form's error")


def test_a_room_that_had_a_token_is_not_opened_to_everyone_without_the_users_word(
    qloop: qasync.QEventLoop, make_window: WindowFactory, qtbot: QtBot
) -> None:
    keyring.set_keyring(FailKeyring())  # no keyring: the token was not kept
    window = make_window()
    started: list[HostOptions] = []
    window.host_page.hostRequested.connect(started.append)
    room = RecentRoom("ws://127.0.0.1:5100/chat/lab", hosted=True, room="lab", port=5100,
                      lan=False, protected=True)  # fmt: skip
    window.start_page.recentChosen.emit(room)
    window.host_page.start.click()
    assert started == [], "an empty token is not taken as 'no token'"
    assert not window.controller.hosting
    assert "This room had a token" in window.host_page.error.text()
    assert window.host_page.open_anyway.isVisible()

    # The form alone (so that nothing is really hosted): only the user's tick opens it.
    page = HostPage()
    qtbot.addWidget(page)
    page.hostRequested.connect(started.append)
    options = HostOptions("lab", "", 5100, False, None)
    page.fill(options, had_token=True)
    page.open_anyway.setChecked(True)
    page.start.click()
    assert [chosen.token for chosen in started] == [None], "the user said so in words"
    page.fill(options, had_token=True)  # the next time, the question again
    assert not page.open_anyway.isChecked()
    page.token.setText("n3w")
    page.start.click()
    assert [chosen.token for chosen in started] == [None, "n3w"]


def test_the_host_sees_and_copies_the_rooms_token_in_the_hosting_box(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    window = make_window()
    box = window.room_view.hosting
    box.show_info(HostInfo(5042, "ws://127.0.0.1:5042/chat", token="s3cret"))
    assert box.token is not None
    assert "s3cret" not in box.token.text()
    show = next(b for b in box.findChildren(QToolButton) if b.text() == "Show")
    show.click()
    assert box.token.text() == "Token: s3cret"
    copy = [b for b in box.findChildren(QToolButton) if b.text() == "Copy"][-1]
    copy.click()
    assert QApplication.clipboard().text() == "s3cret"
    box.show_info(HostInfo(5042, "ws://127.0.0.1:5042/chat"))
    assert box.token is None, "a room without a token shows none"


def test_a_guests_token_is_kept_in_the_keyring_never_in_settings_or_on_screen(
    qloop: qasync.QEventLoop,
    make_window: WindowFactory,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        port = free_port()
        host, guest = make_window(), make_window(tmp_path / "guest.json")
        host.start_page.host_button.click()
        host.host_page.port.setValue(port)
        host.host_page.who.setCurrentIndex(1)
        host.host_page.token.setText("s3cret")
        host.host_page.start.click()
        await until(lambda: host.controller.state is SessionState.OPEN, "hosting")
        # A pasted join link, token and all, in the address field.
        link = f"http://127.0.0.1:{port}/?room=chat&token=s3cret"
        await join_room(guest, link, "guest")
        await until(lambda: guest.controller.state is SessionState.OPEN, "the guest")
        guest.controller.leave()
        await until(lambda: guest.pages.currentWidget() is guest.start_page, "the start page")

        settings = (tmp_path / "guest.json").read_text()
        assert "s3cret" not in settings
        (recent,) = guest.remembered.recent
        assert recent.address == f"http://127.0.0.1:{port}/?room=chat"
        assert recent.protected
        listed = guest.start_page.recent
        assert listed.count() == 1
        assert "s3cret" not in listed.item(0).text()
        assert "s3cret" in memory_keyring.passwords.values()
        guest.start_page.recentChosen.emit(recent)
        assert guest.join_page.token.text() == "s3cret", "the keyring brings it back"

    qloop.run_until_complete(scenario())


def test_settings_written_before_secrets_were_stripped_lose_them_when_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        '{"recent": [{"address": "https://10.0.0.5:5042/?room=ops&token=T0P#fp=sha256:ab"}]}'
    )
    store = SettingsStore(path)
    remembered = store.load()
    assert remembered.recent[0].address == "https://10.0.0.5:5042/?room=ops#fp=sha256:ab"
    store.save(remembered)
    assert "T0P" not in path.read_text()


def test_a_reconnect_refused_for_a_new_token_asks_for_it_on_the_join_form(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, port = await host_and_guest(make_window)
        host.room_view.leave.click()
        await until(lambda: host.confirmation is not None, "the question")
        assert host.confirmation is not None
        answer(host.confirmation, "Stop and leave")
        await until(lambda: host.pages.currentWidget() is host.start_page, "stopped")
        await until(lambda: guest.controller.state is SessionState.RECONNECTING, "reconnecting")
        # The room comes back with a token the guest does not have.
        host.start_page.host_button.click()
        host.host_page.port.setValue(port)
        host.host_page.who.setCurrentIndex(1)
        host.host_page.token.setText("n3w")
        host.host_page.start.click()
        await until(lambda: guest.pages.currentWidget() is guest.join_page, "the join form", 20)
        error = guest.join_page.errors["token"]
        assert error.isVisible()
        assert "token" in error.text().lower()
        assert guest.controller.session is None, "nothing left half-open"
        (refused,) = guest.conversations
        assert refused.trouble == "problem", "the sidebar says so too"
        assert refused.state.startswith("not joined: ")
        assert guest.join_page.address.text() == f"127.0.0.1:{port}"
        guest.join_page.token.setText("n3w")
        guest.join_page.join.click()
        await until(lambda: guest.controller.state is SessionState.OPEN, "in again")
        assert len(guest.conversations) == 1, "in place of the refused one"
        assert guest.current is not refused

    qloop.run_until_complete(scenario())


def test_leaving_a_room_that_closed_on_us_goes_back_to_the_start(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        _host, guest, _port = await host_and_guest(make_window)
        session = guest.controller.session
        assert session is not None
        await session.close()  # closed under the window, as a refused reconnect leaves it
        await until(lambda: guest.controller.state is SessionState.CLOSED, "closed")
        guest.room_view.leave.click()
        await until(lambda: guest.pages.currentWidget() is guest.start_page, "the start page")

    qloop.run_until_complete(scenario())


def test_nothing_of_one_room_shows_in_the_next_and_a_recent_room_is_not_raw(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        _host, guest, _port = await host_and_guest(make_window)
        view = guest.room_view
        view.text_pane.entry.setPlainText("half a thought")
        view.json_pane.editor.setPlainText('{"draft": ')
        view.show_send_error(Kind.BINARY, "too big")
        guest.room_view.leave.click()
        await until(lambda: guest.pages.currentWidget() is guest.start_page, "the start page")
        guest.start_page.join_button.click()
        guest.join_page.raw_fields.raw.setChecked(True)  # a plain WebSocket session before
        (recent,) = guest.remembered.recent
        guest.start_page.recentChosen.emit(recent)
        assert not guest.join_page.raw_fields.raw.isChecked(), "a recent room is a room"
        guest.join_page.join.click()
        await until(lambda: guest.controller.state is SessionState.OPEN, "in the room again")
        view = guest.room_view
        assert view.text_pane.entry.toPlainText() == ""
        assert view.json_pane.editor.toPlainText() == ""
        assert "too big" not in view.binary_pane.status.text()

    qloop.run_until_complete(scenario())


def test_a_full_outbox_holds_the_composer_and_drops_nothing(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    """While the room is away, three messages fill a three-message outbox: Send waits, the
    fourth stays in the box, and once the room is back everything goes out."""

    def small_outbox(address: str, **options: Any) -> Session:
        return Session(address, outbox_size=3, **options)

    async def scenario() -> None:
        port = free_port()
        host = make_window()
        guest = make_window()
        guest.controller._session_factory = small_outbox
        await host_room(host, port)
        await join_room(guest, f"127.0.0.1:{port}", "guest")
        await until(lambda: guest.controller.state is SessionState.OPEN, "joined")
        host.room_view.leave.click()
        await until(lambda: host.confirmation is not None, "the question")
        assert host.confirmation is not None
        answer(host.confirmation, "Stop and leave")
        await until(lambda: host.pages.currentWidget() is host.start_page, "stopped")
        await until(lambda: guest.controller.state is SessionState.RECONNECTING, "away")
        pane = guest.room_view.text_pane
        for n in range(3):
            pane.entry.setPlainText(f"queued {n}")
            pane.send_button.click()
        await until(lambda: not pane.send_button.isEnabled(), "Send to wait")
        pane.entry.setPlainText("the fourth")
        pane.entry.submitted.emit()  # Enter, while waiting
        assert pane.entry.toPlainText() == "the fourth", "kept in the box"
        assert WAITING in guest.notice.text()
        await host_room(host, port)
        await until(lambda: pane.send_button.isEnabled(), "Send again", 30)
        pane.send_button.click()
        await until(lambda: texts(host)[-4:] == [*(f"queued {n}" for n in range(3)),
                                                 "the fourth"], "all four, in order")  # fmt: skip

    qloop.run_until_complete(scenario())


def test_the_hosting_box_folds_away_its_links_and_qr_code(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    window = make_window()
    view = window.room_view
    window.pages.setCurrentWidget(view)
    link = "https://192.168.1.20:5042/?room=chat#fp=sha256:" + "ab" * 32
    view.show_hosting(HostInfo(5042, "ws://127.0.0.1:5042/chat", links=(link,)))
    QApplication.processEvents()
    box = view.hosting
    tall = box.sizeHint().height()
    assert box.details.isVisible()
    box.fold.click()
    QApplication.processEvents()
    assert not box.details.isVisible()
    assert box.sizeHint().height() < tall / 2, "folded, it gives the members their room back"
    box.fold.click()
    assert box.details.isVisible()
