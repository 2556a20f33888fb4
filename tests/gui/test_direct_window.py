"""Direct messages in the window: each person spoken to alone is a conversation of its own
in the sidebar, through the room it goes by; nobody else sees it."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktopchat.client import SessionState
from desktopchat.client.identity import install_key
from desktopchat.gui.conversations import Conversation
from desktopchat.gui.main_window import MainWindow
from desktopchat.protocol import Kind
from tests.gui.conftest import WindowFactory, until
from tests.gui.rooms import free_port, host_and_guest, host_room, join_room, texts


def said(conv: Conversation) -> list[str]:
    """The texts of ``conv``'s view, in front or not."""
    model = conv.view.models[Kind.TEXT]
    model.flush()
    return [row.text for row in model.rows()]


def direct_with(window: MainWindow, peer: str) -> Conversation | None:
    return next((conv for conv in window.conversations if conv.peer == peer), None)


async def direct_from(window: MainWindow, peer: str) -> Conversation:
    """Open ``window``'s direct conversation with ``peer`` through its room in front, once
    that room is joined."""
    await until(lambda: window.controller.state is SessionState.OPEN, "joined")
    room = window.current
    assert room is not None
    window.open_direct(room, peer)
    talk = window.current
    assert talk is not None
    assert talk.peer == peer
    return talk


def test_a_double_clicked_member_gets_a_direct_conversation_nobody_else_sees(
    qloop: qasync.QEventLoop, make_window: WindowFactory
) -> None:
    async def scenario() -> None:
        host, guest, port = await host_and_guest(make_window)
        third = make_window()
        await join_room(third, f"127.0.0.1:{port}", "third")
        await until(lambda: third.controller.state is SessionState.OPEN, "the third to join")
        room = guest.current
        assert room is not None
        members = guest.room_view.members
        await until(lambda: "hoster" in members.stringList(), "the guest to see the host")
        row = members.stringList().index("hoster")
        guest.room_view.member_list.doubleClicked.emit(members.index(row))
        talk = direct_with(guest, "hoster")
        assert talk is not None
        assert guest.current is talk, "the conversation comes in front"
        assert (talk.title, talk.host, talk.state) == ("@hoster", "via #chat", "in the room")
        entry = talk.view.text_pane.entry
        assert entry.hasFocus() or not guest.isActiveWindow()
        QTest.keyClicks(entry, "only for you")
        QTest.keyClick(entry, Qt.Key.Key_Return)
        await until(lambda: direct_with(host, "guest") is not None, "a conversation at the host")
        back = direct_with(host, "guest")
        assert back is not None
        await until(lambda: said(back) == ["only for you"], "the direct message")
        assert back.unread == 1
        assert back.mentioned, "it calls for its recipient"
        assert "only for you" not in texts(host), "not in the room's own pane"
        model = talk.view.models[Kind.TEXT]
        await until(lambda: model.row_at(0).delivered, "the guest's copy to be delivered")
        assert said(talk) == ["only for you"]
        assert "only for you" not in said(room)
        room.view.sendText.emit("to everyone")
        await until(lambda: "to everyone" in texts(third), "the room message")
        assert not any("only for you" in text for text in texts(third))
        assert direct_with(third, "guest") is None
        assert direct_with(third, "hoster") is None

        host.controller.send_text("/msg guest and back")  # typed in the room, as in join
        await until(lambda: "and back" in said(talk), "the answer in the same conversation")
        assert [conv.title for conv in guest.conversations] == ["#chat", "@hoster"]
        guest.controller.send_text("/msg hoster")
        assert "write /msg NAME and then the message" in talk.view.state.text()

        third_room = third.current
        assert third_room is not None
        third.room_view.sendText.emit("/msg guest psst")
        await until(lambda: direct_with(guest, "third") is not None, "a second conversation")
        third_room.view.leave.click()
        whisper = direct_with(guest, "third")
        assert whisper is not None
        await until(lambda: whisper.state == "not in the room now", "their presence")
        (_mute, close) = guest.sidebar.menu_for(whisper).actions()
        close.trigger()
        assert direct_with(guest, "third") is None
        assert room.controller.state is SessionState.OPEN, "closing it leaves no room"

    qloop.run_until_complete(scenario())


def test_a_direct_conversation_is_found_again_after_a_restart_by_this_install_only(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    key = install_key(tmp_path / "client-key")

    async def scenario() -> None:
        host = make_window()
        port = free_port()
        await host_room(host, port, "hoster")
        guest = make_window(tmp_path / "guest.json", client_key=key)
        await join_room(guest, f"127.0.0.1:{port}", "guest")
        talk = await direct_from(guest, "hoster")
        talk.view.sendText.emit("before the restart")
        await until(lambda: direct_with(host, "guest") is not None, "at the host")
        guest.close()
        await guest.shutdown()

        again = make_window(tmp_path / "guest.json", client_key=key)
        again.restore_rooms()
        found = await direct_from(again, "hoster")
        await until(lambda: said(found) == ["before the restart"], "the earlier conversation")

        stranger = make_window(client_key=install_key(tmp_path / "another-key"))
        await join_room(stranger, f"127.0.0.1:{port}", "guest")  # the same name, not the key
        other = await direct_from(stranger, "hoster")
        await until(lambda: other.view.older.text() == "No older messages", "its page")
        assert said(other) == [], "another install does not read it"

    qloop.run_until_complete(scenario())
