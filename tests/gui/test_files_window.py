"""Files in the window: a folder dropped on the room goes up with its tree, the other window
lists the offers in its Files tab, fetches them on request and shows pictures as thumbnails."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import qasync
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage, QPixmap

from desktopchat.client.transfers import Direction, State
from desktopchat.gui.panes.files_pane import ProgressRole, StatusRole
from tests.gui.conftest import WindowFactory, until
from tests.gui.rooms import host_and_guest


def dropped(data: QMimeData, paths: list[Path]) -> QDropEvent:
    """A drop of ``paths`` (``data`` is the caller's: the event does not own it)."""
    data.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )


def test_a_dropped_folder_is_offered_fetched_into_its_tree_and_shown_with_thumbnails(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    tree = tmp_path / "holiday"
    (tree / "day 2").mkdir(parents=True)
    picture = QImage(64, 48, QImage.Format.Format_RGB32)
    picture.fill(QColor("teal"))
    assert picture.save(str(tree / "beach.png"))
    notes = tree / "day 2" / "notes.bin"
    notes.write_bytes(os.urandom(3 * 1024 * 1024))

    async def scenario() -> None:
        host, guest, _port = await host_and_guest(make_window)
        data = QMimeData()
        guest.room_view.dropEvent(dropped(data, [tree]))
        assert guest.room_view.tabs.currentWidget() is guest.room_view.files_pane
        sent = guest.room_view.transfers
        await until(lambda: sent.rowCount() == 2, "the guest's list")
        await until(lambda: all(t.state is State.DONE for t in sent.rows), "the uploads")
        assert all(t.direction is Direction.UP for t in sent.rows)

        files = host.room_view.transfers
        await until(lambda: files.rowCount() == 2, "the host to see both offers")
        assert host.room_view.tabs.tabText(host.room_view.files_tab) == "Files  (2)"
        names = [files.index(row).data() for row in range(2)]
        assert sorted(names) == ["holiday/beach.png", "holiday/day 2/notes.bin"]
        status = files.index(0).data(StatusRole)
        assert status.startswith("↓ ")
        assert "offered by guest" in status
        assert files.index(0).data(ProgressRole) == -1.0, "no bar before a download"

        pane = host.room_view.files_pane
        host.room_view.tabs.setCurrentWidget(pane)
        assert host.room_view.tabs.tabText(host.room_view.files_tab) == "Files"
        pane.view.selectAll()
        buttons = pane.commands
        assert buttons["Download"].isEnabled()
        assert not buttons["Open folder"].isEnabled()
        saved = tmp_path / "saved"
        pane.fetch_into(saved)
        await until(lambda: all(t.state is State.DONE for t in files.rows), "the downloads")
        got = saved / "holiday" / "day 2" / "notes.bin"
        assert (
            hashlib.sha256(got.read_bytes()).digest() == hashlib.sha256(notes.read_bytes()).digest()
        )
        assert (saved / "holiday" / "beach.png").read_bytes() == (tree / "beach.png").read_bytes()
        beach = next(r for r in range(2) if files.rows[r].name == "beach.png")
        thumbnail = files.index(beach).data(Qt.ItemDataRole.DecorationRole)
        assert isinstance(thumbnail, QPixmap)
        assert (thumbnail.width(), thumbnail.height()) == (40, 30)
        assert "saved to" in files.index(beach).data(StatusRole)
        assert buttons["Open folder"].isEnabled()
        assert not buttons["Download"].isEnabled()

        host.room_view.grab().save(str(tmp_path / "files.png"))

    qloop.run_until_complete(scenario())
