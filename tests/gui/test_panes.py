"""The panes and models on their own: model contracts, JSON editor, hex view, binary pane."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage
from PySide6.QtTest import QTest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktopchat.client.discovery import FoundRoom
from desktopchat.gui.found_rooms import FoundRoomsModel
from desktopchat.gui.panes.binary_pane import BinaryPane
from desktopchat.gui.panes.hex_model import HexModel
from desktopchat.gui.panes.json_pane import JsonPane, json_problem
from desktopchat.gui.panes.json_tree import JsonTreeModel
from desktopchat.gui.panes.message_model import ROW_ROLE, MessageListModel, MessageRow
from tests.gui.conftest import shown


def row(n: int, **fields: object) -> MessageRow:
    base: dict[str, object] = {"time": 1_795_000_000_000 + n, "sender": "ada", "kind": "text"}
    base.update(fields)
    return MessageRow(**base)  # type: ignore[arg-type]


def test_the_message_model_batches_appends_and_honours_the_model_contract(
    qtmodeltester: ModelTester, qtbot: QtBot
) -> None:
    model = MessageListModel()
    with qtbot.waitSignal(model.rowsAppended) as appended:
        for n in range(250):
            model.append(row(n, text=f"m{n}"))
    assert appended.args == [250], "one insert for the whole batch"
    qtmodeltester.check(model)
    assert model.row_at(249).text == "m249"


def test_own_messages_are_marked_delivered_by_client_id() -> None:
    model = MessageListModel()
    model.append(row(1, text="mine", cid="c1", own=True, delivered=False))
    assert model.mark_delivered("c1", 7)
    assert model.row_at(0).delivered
    assert model.row_at(0).id == 7
    assert not model.mark_delivered("unknown", 8)


def test_the_hex_model_shows_offset_hex_and_ascii(qtmodeltester: ModelTester) -> None:
    model = HexModel()
    for size, rows in [(0, 0), (1, 1), (16, 1), (17, 2), (1 << 20, 65536)]:
        model.set_bytes(bytes(range(256)) * (size // 256) + bytes(range(size % 256)))
        assert model.rowCount() == rows
    model.set_bytes(b"Hello\x00\xffworld!!!!!" + b"A")
    qtmodeltester.check(model)
    cells = [model.data(model.index(0, column)) for column in range(3)]
    assert cells == [
        "00000000",
        "48 65 6c 6c 6f 00 ff 77 6f 72 6c 64 21 21 21 21",
        "Hello..world!!!!",
    ]
    assert model.data(model.index(1, 0)) == "00000010"


def test_the_json_tree_lists_keys_values_and_types(qtmodeltester: ModelTester) -> None:
    model = JsonTreeModel()
    model.show_value({"a": [1, True, None], "b": {"c": "x"}})
    qtmodeltester.check(model)
    root = model.index(0, 0)
    assert model.data(model.index(0, 2)) == "object {2}"
    assert model.rowCount(root) == 2
    first = model.index(0, 0, root)
    assert model.data(first) == "a"
    assert model.data(model.index(1, 1, first)) == "true"


def test_the_found_rooms_model_shows_a_lock_for_token_rooms(qtmodeltester: ModelTester) -> None:
    model = FoundRoomsModel()
    model.set_rooms(
        [
            FoundRoom("x", "lobby", "ada", "10.0.0.2", 5042, "/chat/lobby", True, 3, "v1"),
            FoundRoom("y", "chat", "bob", "10.0.0.3", 5042, "/chat", False, None, "v1"),
        ]
    )
    qtmodeltester.check(model)
    assert model.data(model.index(0)) == "🔒 #lobby on ada · 3 here"
    assert model.data(model.index(1)) == "#chat on bob"


def test_the_json_editor_reports_line_and_column_and_only_sends_valid_json(qtbot: QtBot) -> None:
    pane = JsonPane(MessageListModel())
    qtbot.addWidget(pane)
    sent: list[str] = []
    pane.sendRequested.connect(sent.append)
    pane.editor.setPlainText('{\n  "a": }')
    assert "line 2, column 8" in pane.status.text()
    assert not pane.send_button.isEnabled()
    QTest.keyClick(pane.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent == []
    pane.editor.setPlainText('{"a": [1, 2]}')
    assert pane.send_button.isEnabled()
    QTest.keyClick(pane.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent == ['{"a": [1, 2]}']
    assert json_problem("[1,") is not None


def test_selecting_a_json_message_shows_it_pretty_and_as_a_tree(qtbot: QtBot) -> None:
    model = MessageListModel()
    pane = JsonPane(model)
    qtbot.addWidget(pane)
    value = {"type": "update", "data": [1, 2, 3]}
    model.append(row(1, kind="json", text=json.dumps(value), data=value))
    model.flush()
    pane.view.setCurrentIndex(pane.proxy.index(0, 0))
    assert json.loads(pane.pretty.toPlainText()) == value
    assert "\n  " in pane.pretty.toPlainText()
    assert pane.tree_model.rowCount() == 1


def test_a_json_pane_following_a_busy_room_keeps_the_users_pick_and_picks_nothing_itself(
    qtbot: QtBot,
) -> None:
    """The list keeps only its newest rows while following; hiding the older ones must not
    make Qt select the next row (the detail would walk through the list), nor drop the
    message the user is looking at."""
    model = MessageListModel()
    pane = JsonPane(model)
    shown(qtbot, pane, 800, 600)

    def add(first: int, count: int) -> None:
        for n in range(first, first + count):
            model.append(row(n, kind="json", text=json.dumps({"n": n}), data={"n": n}))
        model.flush()

    def detail() -> object:
        return json.loads(pane.pretty.toPlainText())

    for first in range(0, 150, 10):
        add(first, 10)
    assert model.hidden, "older rows are held back"
    assert not pane.view.selectionModel().hasSelection()
    assert detail() == {"n": 149}, "nothing picked: the newest"
    pane.view.setCurrentIndex(pane.proxy.index(model.rowCount() - 5, 0))
    picked = detail()
    for first in range(150, 400, 10):
        add(first, 10)
    assert detail() == picked
    assert [index.data(ROW_ROLE).data for index in pane.view.selectedIndexes()] == [picked]


def png() -> bytes:
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs miss QIODevice
    return bytes(data.data())


def test_the_binary_pane_previews_images_saves_and_sends_dropped_files(
    qtbot: QtBot, tmp_path: Path
) -> None:
    model = MessageListModel()
    pane = BinaryPane(model)
    qtbot.addWidget(pane)
    picture = png()
    model.append(row(1, kind="binary", payload=picture, name="red.png", mime="image/png"))
    model.flush()
    pane.view.setCurrentIndex(pane.proxy.index(0, 0))
    assert pane.preview.pixmap() is not None
    assert not pane.preview.pixmap().isNull()
    assert pane.hex_model.rowCount() == (len(picture) + 15) // 16
    target = tmp_path / "saved.png"
    assert pane.save_to(str(target))
    assert target.read_bytes() == picture
    assert not pane.save_to(str(tmp_path / "missing" / "dir" / "x.png"))
    assert "Could not save" in pane.status.text()

    dropped: list[str] = []
    pane.sendFileRequested.connect(dropped.append)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(target))])
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    pane.dropEvent(drop)
    assert dropped == [str(target)]

    pane.show()
    pane.show_progress(100, 1000)
    assert pane.progress.isVisible()
    pane.show_progress(1000, 1000)
    assert not pane.progress.isVisible()
