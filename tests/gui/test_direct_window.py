"""Direct messages in the window: a double-click on a member starts one, it reaches that
member marked as said to them (and calling for them as a mention does), and nobody else."""

from __future__ import annotations

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktopchat.client import SessionState
from desktopchat.protocol import Kind
from tests.gui.conftest import WindowFactory, until
from tests.gui.rooms import host_and_guest, join_room, texts


def test_a_double_clicked_member_gets_a_direct_message_nobody_else_sees(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, port = await host_and_guest(make_window)
        third = make_window()
        await join_room(third, f"127.0.0.1:{port}", "third")
        await until(lambda: third.controller.state is SessionState.OPEN, "the third to join")
        members = guest.room_view.members
        await until(lambda: "hoster" in members.stringList(), "the guest to see the host")
        row = members.stringList().index("hoster")
        guest.room_view.member_list.doubleClicked.emit(members.index(row))
        entry = guest.room_view.text_pane.entry
        assert entry.toPlainText() == "/msg hoster "
        QTest.keyClicks(entry, "only for you")
        QTest.keyClick(entry, Qt.Key.Key_Return)
        await until(lambda: "(direct to you) only for you" in texts(host), "the direct message")
        model = host.room_view.models[Kind.TEXT]
        assert model.row_at(model.rowCount() - 1).mentioned, "it calls for its recipient"
        guest_model = guest.room_view.models[Kind.TEXT]
        await until(lambda: guest_model.row_at(0).delivered, "the guest's copy to be delivered")
        assert texts(guest) == ["(direct to hoster) only for you"]
        guest.room_view.sendText.emit("to everyone")
        await until(lambda: "to everyone" in texts(third), "the room message")
        assert not any("only for you" in text for text in texts(third))

    qloop.run_until_complete(scenario())
