"""The window as a workbench for any WebSocket endpoint: servers that are not ours."""

from __future__ import annotations

import json
from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton
from websockets.asyncio.client import connect

from desktopchat.client import SessionState
from desktopchat.gui.main_window import MainWindow
from desktopchat.protocol import Kind
from tests.gui.conftest import WindowFactory, until
from tests.integration.foreign import HEADER, SUBPROTOCOL, foreign, websocat_broadcast


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
