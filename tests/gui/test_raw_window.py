"""The window as a workbench for any WebSocket endpoint: servers that are not ours."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import keyring
import qasync
from keyring.backends.fail import Keyring as FailKeyring
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from desktopchat.client import SessionState
from desktopchat.gui.main_window import MainWindow
from desktopchat.protocol import Kind
from tests.gui.conftest import MemoryKeyring, WindowFactory, until
from tests.integration.foreign import (
    CLOSE_ME,
    CLOSED_WITH,
    HEADER,
    SUBPROTOCOL,
    foreign,
    websocat_broadcast,
)


def rows(window: MainWindow, kind: Kind) -> list[tuple[str, object]]:
    model = window.room_view.models[kind]
    model.flush()
    found: list[tuple[str, object]] = []
    for n in range(model.rowCount()):
        row = model.row_at(n)
        found.append((row.sender, row.payload if kind is Kind.BINARY else row.text))
    return found


async def connect_raw(window: MainWindow, url: str, **advanced: str) -> None:
    window.start_page.join_button.click()
    page = window.join_page
    page.address.setText(url)
    page.raw_fields.raw.setChecked(True)
    page.raw_fields.subprotocols.setText(advanced.get("subprotocols", ""))
    page.raw_fields.headers.setPlainText(advanced.get("headers", ""))
    page.raw_fields.variables.setPlainText(advanced.get("variables", ""))
    page.join.click()
    await until(lambda: window.controller.state is SessionState.OPEN, "the raw connection")
    await until(lambda: window.pages.currentWidget() is window.room_view, "the panes")


def test_a_talking_server_fills_the_three_panes_and_echoes_what_is_sent(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with foreign("talker") as port:
            window = make_window()
            await connect_raw(window, f"ws://127.0.0.1:{port}/feed")
            room = window.room_view
            assert room.leave.text() == "Disconnect"
            assert not room.member_list.isVisible()
            assert f"127.0.0.1:{port}/feed" in room.me.text()
            await until(lambda: rows(window, Kind.BINARY), "the server's bytes")
            assert rows(window, Kind.JSON)[0][0] == "server"
            json_row = room.models[Kind.JSON].row_at(0)
            assert json_row.data == {"event": "hello", "server": "talker", "n": [1, 2, 3]}
            assert rows(window, Kind.BINARY) == [("server", b"\x00\x01\x02\xff")]
            QTest.keyClicks(room.text_pane.entry, "ping")
            QTest.keyClick(room.text_pane.entry, Qt.Key.Key_Return)
            await until(lambda: ("server", "ping") in rows(window, Kind.TEXT), "the echo")
            assert rows(window, Kind.TEXT) == [("you", "ping"), ("server", "ping")]
            room.json_pane.editor.setPlainText('{"op": "sub"}')
            QTest.keyClick(
                room.json_pane.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
            )
            await until(lambda: len(rows(window, Kind.JSON)) == 3, "the JSON echo")
            room.binary_pane.typed.setText("ca fe")
            room.binary_pane.typed.returnPressed.emit()
            await until(lambda: len(rows(window, Kind.BINARY)) == 3, "the bytes echo")
            assert rows(window, Kind.BINARY)[-1] == ("server", b"\xca\xfe")
            room.binary_pane.show_row(room.models[Kind.BINARY].row_at(2))
            assert room.binary_pane.base64.text() == "yv4="
            room.binary_pane.encoding.setCurrentText("base64")
            room.binary_pane.typed.setText("!!")
            room.binary_pane.typed.returnPressed.emit()
            assert "not base64" in room.binary_pane.status.text()
            log = tmp_path / "log.ndjson"
            assert window.controller.export_log(str(log)) == 8
            lines = [json.loads(line) for line in log.read_text().splitlines()]
            assert [line["direction"] for line in lines[:3]] == ["in", "in", "out"]
            assert lines[0]["kind"] == "json"
            assert lines[0]["data"]["server"] == "talker"

    qloop.run_until_complete(scenario())


def test_a_server_that_is_not_a_room_is_offered_as_a_plain_websocket(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        async with foreign("echo") as port:
            window = make_window()
            window.start_page.join_button.click()
            window.join_page.address.setText(f"127.0.0.1:{port}")
            window.join_page.name.setText("ada")
            window.join_page.join.click()
            offer = window.join_page.offer_raw
            await until(offer.isVisible, "the offer to connect as a plain WebSocket")
            assert "not a desktopchat room" in window.join_page.errors["address"].text()
            offer.click()
            await until(lambda: window.controller.state is SessionState.OPEN, "connected")
            assert window.room_view.raw

    qloop.run_until_complete(scenario())


def test_advanced_fields_offer_the_subprotocol_and_header_a_server_requires(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        async with foreign("strict") as port:
            window = make_window()
            window.start_page.join_button.click()
            page = window.join_page
            page.address.setText(f"ws://127.0.0.1:{port}/api")
            page.raw_fields.raw.setChecked(True)
            page.join.click()
            await until(lambda: page.errors["address"].isVisible(), "the refusal")
            assert "answered HTTP 401" in page.errors["address"].text()
            page.raw_fields.headers.setPlainText("not a header")
            page.join.click()
            assert "is not a header" in page.errors[""].text()
            assert page.raw_fields.advanced.isVisible()
            await connect_raw(
                window,
                f"ws://127.0.0.1:{port}/api",
                subprotocols=f"other, {SUBPROTOCOL}",
                headers=f"{HEADER[0]}: {HEADER[1]}",
            )
            assert f"Subprotocol: {SUBPROTOCOL}" in window.room_view.me.text()

    qloop.run_until_complete(scenario())


def test_websocat_broadcasts_between_the_window_and_another_client(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        async with (
            websocat_broadcast() as port,
            connect(f"ws://127.0.0.1:{port}/", proxy=None) as other,
        ):
            window = make_window()
            await connect_raw(window, f"ws://127.0.0.1:{port}/")
            window.controller.send_text("hello websocat")
            assert await other.recv() == "hello websocat"
            await other.send('{"from": "other"}')
            await until(lambda: rows(window, Kind.JSON), "the other client's JSON")
            assert window.room_view.models[Kind.JSON].row_at(0).data == {"from": "other"}

    qloop.run_until_complete(scenario())


def test_saved_messages_with_variables_are_kept_and_sent_with_a_click(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        async with foreign("echo") as port:
            url = f"ws://127.0.0.1:{port}/"
            window = make_window()
            await connect_raw(window, url)
            room = window.room_view
            saved = room.saved
            saved.variables.setPlainText("user = ada")
            room.tabs.setCurrentWidget(room.json_pane)
            room.json_pane.editor.setPlainText('{"hello": "{{user}}", "n": {{counter}}}')
            saved.name.setText("greet")
            next(b for b in saved.findChildren(QPushButton) if b.text() == "Save").click()
            assert saved.list.count() == 1
            saved.list.setCurrentRow(0)
            next(b for b in saved.findChildren(QPushButton) if b.text() == "Send").click()
            await until(lambda: len(rows(window, Kind.JSON)) == 2, "the saved message and echo")
            assert room.models[Kind.JSON].row_at(1).data == {"hello": "ada", "n": 1}
            await window.controller.session.close()  # type: ignore[union-attr]
            again = make_window()
            await connect_raw(again, url)
            assert again.room_view.saved.list.count() == 1, "kept in the config dir"
            assert "user = ada" in again.room_view.saved.variables.toPlainText()

    qloop.run_until_complete(scenario())


def test_a_lost_raw_connection_reconnects_and_says_nothing_is_resumed(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        window = make_window()
        async with foreign("echo") as port:
            await connect_raw(window, f"ws://127.0.0.1:{port}/")
        await until(lambda: window.controller.state is SessionState.RECONNECTING, "reconnecting")
        assert "do not resume" in window.room_view.state.text()
        assert window.room_view.retry.isVisible()

    qloop.run_until_complete(scenario())


def timeline(window: MainWindow) -> list[tuple[str, str, str]]:
    """The timeline's moments as (direction arrow, kind, data)."""
    pane = window.room_view.timeline
    pane.model.flush()
    table = pane.proxy
    return [
        tuple(str(table.index(row, column).data()) for column in (1, 2, 4))  # type: ignore[misc]
        for row in range(table.rowCount())
    ]


def test_the_timeline_holds_every_frame_both_ways_with_pings_pongs_and_the_servers_close(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        async with foreign("talker") as port:
            window = make_window()
            await connect_raw(window, f"ws://127.0.0.1:{port}/feed")
            room = window.room_view
            pane = room.timeline
            assert room.tabs.currentWidget() is pane, "a workbench opens on its timeline"
            await until(lambda: len(timeline(window)) >= 4, "the server's first frames")
            first = timeline(window)[:4]
            assert [(way, kind) for way, kind, _ in first] == [
                ("•", "connecting"),
                ("•", "open"),
                ("←", "json"),
                ("←", "binary"),
            ]
            assert first[3][2] == "00 01 02 ff", "bytes in hex"
            assert pane.model.index(2, 0).data().count(":") == 2
            assert "." in pane.model.index(2, 0).data(), "milliseconds"
            window.controller.send_text("line one\nline two")
            await until(lambda: len(timeline(window)) >= 6, "our frame and its echo")
            assert timeline(window)[4:6] == [
                ("→", "text", "line one\\nline two"),
                ("←", "text", "line one\\nline two"),
            ]
            pane.payload.setText("abc")
            pane.ping.click()
            await until(lambda: any(k == "pong" for _, k, _ in timeline(window)), "the pong")
            ping, pong = timeline(window)[6:8]
            assert ping == ("→", "ping", "payload 61 62 63")
            assert pong[:2] == ("←", "pong")
            assert "round trip" in pong[2]
            assert " ms" in pong[2]
            pane.payload.setText("x" * 126)
            pane.ping.click()
            assert "at most 125 bytes" in pane.error.text()
            assert pane.error.isVisible()
            room.filter.setText("PONG")
            assert [kind for _, kind, _ in timeline(window)] == ["pong"]
            assert room.matches.text() == "1 match"
            room.filter.clear()
            window.controller.send_text(CLOSE_ME)
            await until(lambda: window.controller.state is SessionState.CLOSED, "the close")
            await until(lambda: timeline(window)[-1][1] == "close", "the close in the timeline")
            way, _, words = timeline(window)[-1]
            assert way == "←"
            assert "4002" in words
            assert CLOSED_WITH[1] in words
            assert "4002" in room.state.text()

    qloop.run_until_complete(scenario())


def test_pings_on_an_interval_and_a_close_with_our_code_and_reason(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        async with serve(_remember_close, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            window = make_window()
            await connect_raw(window, f"ws://127.0.0.1:{port}/")
            pane = window.room_view.timeline
            pane.seconds.setValue(1)
            pane.every.setChecked(True)
            await until(
                lambda: sum(kind == "pong" for _, kind, _ in timeline(window)) >= 2,
                "two pongs a second apart",
            )
            pane.every.setChecked(False)
            pane.code.setValue(1005)
            pane.close_button.click()
            assert "1005 is not a close code" in pane.error.text()
            pane.code.setValue(4321)
            pane.reason.setText("done testing")
            pane.close_button.click()
            await until(lambda: window.controller.state is SessionState.CLOSED, "closed")
            assert "You closed the connection" in window.room_view.state.text()
            await until(lambda: _CLOSES, "the server to see the close")
            assert _CLOSES == [(4321, "done testing")]
            kinds = [(way, kind) for way, kind, _ in timeline(window)]
            assert ("→", "close") in kinds
            assert "4321" in timeline(window)[kinds.index(("→", "close"))][2]
            assert window.pages.currentWidget() is window.room_view, "the record stays"
            window.room_view.leave.click()
            await until(lambda: window.pages.currentWidget() is not window.room_view, "left")
            await connect_raw(window, f"ws://127.0.0.1:{port}/")
            assert [kind for _, kind, _ in timeline(window)] == ["connecting", "open"]
            assert not window.room_view.timeline.every.isChecked()

    qloop.run_until_complete(scenario())


_CLOSES: list[tuple[int | None, str | None]] = []


async def _remember_close(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in ws:
            pass
    _CLOSES.append((ws.close_code, ws.close_reason))


def test_a_connection_is_saved_with_its_handshake_and_its_secrets_only_in_the_keyring(
    qloop: qasync.QEventLoop,
    make_window: WindowFactory,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    async def scenario() -> None:
        async with foreign("strict") as port:
            settings = tmp_path / "settings.json"
            window = make_window(settings)
            template = f"ws://127.0.0.1:{port}/{{{{path}}}}?key=k1&v=2"
            await connect_raw(
                window,
                template,
                subprotocols=SUBPROTOCOL,
                headers=f"{HEADER[0]}: {HEADER[1]}\nX-Client: desk {{{{counter}}}}",
                variables="path = api",
            )
            assert f"127.0.0.1:{port}/api" in window.room_view.me.text(), "{{path}} filled in"
            written = settings.read_text()
            assert HEADER[1] not in written, "the secret header's value is not in the file"
            assert "k1" not in written, "nor the key in the query"
            assert "X-Client" in written
            assert "{{counter}}" in written
            assert HEADER[1] in str(memory_keyring.passwords)
            window.room_view.leave.click()
            await until(lambda: window.pages.currentWidget() is window.start_page, "the start")

            again = make_window(settings)
            labels = [
                again.start_page.recent.item(n).text()
                for n in range(again.start_page.recent.count())
            ]
            assert labels == [
                f"WebSocket: ws://127.0.0.1:{port}/{{{{path}}}}?v=2  —  {SUBPROTOCOL}"
            ]
            again.start_page.recent.itemActivated.emit(again.start_page.recent.item(0))
            fields = again.join_page.raw_fields
            assert again.pages.currentWidget() is again.join_page
            assert fields.raw.isChecked()
            assert fields.advanced.isVisible()
            assert fields.subprotocols.text() == SUBPROTOCOL
            assert f"{HEADER[0]}: {HEADER[1]}" in fields.headers.toPlainText()
            assert fields.variables.toPlainText() == "path = api"
            again.join_page.join.click()
            await until(lambda: again.controller.state is SessionState.OPEN, "connected again")

            keyless = make_window(settings)
            keyring.set_keyring(FailKeyring())
            keyless.start_page.recent.itemActivated.emit(keyless.start_page.recent.item(0))
            hint = keyless.join_page.errors[""]
            assert hint.isVisible()
            assert f"value of {HEADER[0]} was not kept" in hint.text()
            assert f"{HEADER[0]}: \n" in keyless.join_page.raw_fields.headers.toPlainText() + "\n"

    qloop.run_until_complete(scenario())


def test_variables_fill_the_composers_of_a_raw_connection_and_an_unknown_one_keeps_the_draft(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        async with foreign("echo") as port:
            window = make_window()
            await connect_raw(window, f"ws://127.0.0.1:{port}/")
            room = window.room_view
            room.saved.variables.setPlainText("user = ada")
            room.tabs.setCurrentWidget(room.text_pane)
            QTest.keyClicks(room.text_pane.entry, "hi {{user}}")
            QTest.keyClick(room.text_pane.entry, Qt.Key.Key_Return)
            await until(lambda: ("server", "hi ada") in rows(window, Kind.TEXT), "the echo")
            QTest.keyClicks(room.text_pane.entry, "hi {{nobody}}")
            QTest.keyClick(room.text_pane.entry, Qt.Key.Key_Return)
            assert room.text_pane.entry.text() == "hi {{nobody}}", "the draft stays"
            assert "no variable 'nobody'" in room.state.text()
            room.tabs.setCurrentWidget(room.json_pane)
            room.json_pane.editor.setPlainText('{"n": {{counter}}, "who": "{{user}}"}')
            assert room.json_pane.send_button.isEnabled(), "valid once filled in"
            room.json_pane.editor.setPlainText('{"n": {{nope}}}')
            assert not room.json_pane.send_button.isEnabled()
            assert "no variable 'nope'" in room.json_pane.status.text()
            room.json_pane.editor.setPlainText('{"n": {{counter}}, "who": "{{user}}"}')
            room.json_pane.send_button.click()
            await until(lambda: len(rows(window, Kind.JSON)) == 2, "the JSON and its echo")
            # The counter counts what was sent: the text before, not the refused one.
            assert room.models[Kind.JSON].row_at(1).data == {"n": 2, "who": "ada"}

    qloop.run_until_complete(scenario())
