"""Many rooms in one window: the sidebar keeps each connected, counts what is unread in the
ones in the back, switches, mutes, leaves, and opens them all again at the next start."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktopchat.client import SessionState, UntrustedCertificate
from desktopchat.gui.controller import field_of
from desktopchat.gui.conversations import Conversation, ConversationModel
from desktopchat.gui.main_window import MainWindow
from desktopchat.protocol import Kind
from tests.gui.conftest import WindowFactory, until
from tests.gui.rooms import answer, free_port, host_room, join_room, texts
from tests.gui.test_all_day import FakeNotifier


async def open_room(window: MainWindow, address: str, rooms: int) -> Conversation:
    """Join ``address`` from the Join form, beside the rooms already open (``rooms``: how
    many are open after)."""
    if window.conversations:
        window.sidebar.add.click()
    await join_room(window, address, "me")
    await until(lambda: len(window.conversations) == rooms, f"room {rooms} in the sidebar")
    room = window.conversations[-1]
    await until(lambda: room.controller.state is SessionState.OPEN, f"room {rooms} open")
    return room


def line(window: MainWindow, room: Conversation, role: int) -> object:
    """What the sidebar's model says of ``room``."""
    return window.rooms.data(window.rooms.row_of(room), role)


def test_three_rooms_on_two_hosts_stay_open_side_by_side(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    fake = FakeNotifier()

    async def scenario() -> None:
        ports = free_port(), free_port()
        ann, ben = make_window(), make_window()
        await host_room(ann, ports[0], "ann")
        await host_room(ben, ports[1], "ben")
        me = make_window(tmp_path / "me.json", notifier=fake)
        assert me.sidebar.isHidden(), "no sidebar before a room is open"
        first = await open_room(me, f"127.0.0.1:{ports[0]}", 1)
        other = await open_room(me, f"ws://127.0.0.1:{ports[0]}/chat/other", 2)
        third = await open_room(me, f"127.0.0.1:{ports[1]}", 3)
        assert me.sidebar.isVisible()
        assert [room.title for room in me.conversations] == ["#chat", "#other", "#chat"]
        assert [room.host for room in me.conversations] == [
            f"127.0.0.1:{ports[0]}",
            f"127.0.0.1:{ports[0]}",
            f"127.0.0.1:{ports[1]}",
        ]
        assert me.current is third
        assert len({id(room.controller.session) for room in me.conversations}) == 3
        me.activateWindow()
        await until(me.attention.watching, "the window in front")

        ann.controller.send_text("lunch, @me?")  # in a room in the back
        await until(lambda: first.unread == 1, "the unread count of the room in the back")
        assert first.mentioned
        assert line(me, first, ConversationModel.UnreadRole) == 1
        assert line(me, first, ConversationModel.MentionRole) is True
        await until(lambda: fake.shown.get(first.key), "a notification for that room")
        assert fake.shown[first.key] == ("ann mentioned you in #chat", "lunch, @me?")
        await until(lambda: me.windowTitle() == "(1) #chat — desktopchat", "the count")
        assert third.unread == other.unread == 0
        assert "lunch, @me?" not in texts(me), "the room in front is another"

        me.sidebar.list.clicked.emit(me.rooms.row_of(first))  # the user clicks it
        assert me.current is first
        assert me.pages.currentWidget() is first.view
        assert "lunch, @me?" in texts(me)
        await until(lambda: first.unread == 0, "read once in front")
        assert me.windowTitle() == "#chat — desktopchat"
        assert fake.shown == {}, "its notification is withdrawn"

        me.show_conversation(third)
        ben.room_view.stopHostingRequested.emit()  # one host stops: one room reconnects
        await until(lambda: ben.confirmation is not None, "the question")
        assert ben.confirmation is not None
        answer(ben.confirmation, "Stop hosting")
        await until(lambda: third.controller.state is SessionState.RECONNECTING, "reconnecting")
        assert first.controller.state is other.controller.state is SessionState.OPEN
        assert line(me, third, ConversationModel.TroubleRole) == "waiting"
        assert str(line(me, third, ConversationModel.StateRole)).startswith("reconnecting")
        await until(lambda: not ben.conversations, "the host to have stopped")
        me.sidebar.add.click()  # the user is on the start page when it comes back
        await host_room(ben, ports[1], "ben")
        await until(lambda: third.controller.state is SessionState.OPEN, "back")
        assert me.pages.currentWidget() is me.start_page, "a reconnection moves no page"
        me.show_conversation(first)
        ben.controller.send_text("we are back")
        await until(lambda: third.unread == 1, "counted in the back")
        assert first.controller.state is SessionState.OPEN
        assert me.current is first

    qloop.run_until_complete(scenario())


def test_switching_muting_and_leaving_and_the_rooms_come_back_after_a_restart(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    fake = FakeNotifier()
    settings = tmp_path / "me.json"

    async def scenario() -> None:
        port = free_port()
        ann = make_window()
        await host_room(ann, port, "ann")
        me = make_window(settings, notifier=fake)
        chat = await open_room(me, f"127.0.0.1:{port}", 1)
        other = await open_room(me, f"ws://127.0.0.1:{port}/chat/other", 2)
        me.activateWindow()
        await until(me.attention.watching, "the window in front")

        QTest.keyClick(
            me.room_view.text_pane.entry, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier
        )
        assert me.current is chat, "Ctrl+Tab goes round"
        QTest.keyClick(me, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        switcher = me.switcher
        assert switcher is not None
        assert switcher.isVisible()
        QTest.keyClicks(switcher.search, "OTH")
        assert switcher.filter.rowCount() == 1
        QTest.keyClick(switcher.search, Qt.Key.Key_Return)
        assert me.current is other

        (mute, _leave) = me.sidebar.menu_for(chat).actions()
        assert mute.text() == "Mute"
        mute.trigger()
        assert chat.muted
        assert me.remembered.notify[chat.key] == "none"
        assert me.sidebar.menu_for(chat).actions()[0].text() == "Unmute"
        ann.controller.send_text("nobody needs to hear this")
        await until(lambda: chat.unread == 1, "counted in the sidebar")
        assert line(me, chat, ConversationModel.MutedRole) is True
        assert me.windowTitle() == "#other — desktopchat", "a muted room is not in the title"
        assert fake.shown == {}, "nor notified"

        me.show_start()
        assert me.current is other
        recent = next(r for r in me.remembered.recent if r.address == f"127.0.0.1:{port}")
        me.start_page.recentChosen.emit(recent)
        assert me.current is chat, "a recent room open already is brought in front"
        assert me.pages.currentWidget() is chat.view
        assert len(me.conversations) == 2

        me.close()
        await me.shutdown()
        again = make_window(settings, notifier=fake)
        assert again.conversations == []
        again.restore_rooms()
        assert [room.title for room in again.conversations] == ["#chat", "#other"]
        back_chat, back_other = again.conversations
        assert again.current is back_chat
        await until(lambda: back_chat.controller.state is SessionState.OPEN, "rejoined")
        await until(lambda: back_other.controller.state is SessionState.OPEN, "rejoined too")
        assert back_chat.muted, "muted still"
        assert "nobody needs to hear this" in texts_of(back_chat)

        (_mute, leave) = again.sidebar.menu_for(back_other).actions()
        leave.trigger()
        await until(lambda: again.conversations == [back_chat], "left")
        assert again.current is back_chat
        assert [room.address for room in again.remembered.open_rooms] == [f"127.0.0.1:{port}"]
        (leave_last,) = again.sidebar.menu_for(back_chat).actions()[1:]
        leave_last.trigger()
        await until(lambda: not again.conversations, "none left")
        assert again.pages.currentWidget() is again.start_page
        assert again.sidebar.isHidden()
        assert again.windowTitle() == "desktopchat"

    qloop.run_until_complete(scenario())


def texts_of(room: Conversation) -> list[str]:
    """The texts shown in ``room``'s view (in front or not)."""
    model = room.view.models[Kind.TEXT]
    model.flush()
    return [row.text for row in model.rows()]


def test_a_link_opens_its_room_beside_the_others_once(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        port = free_port()
        ann = make_window()
        await host_room(ann, port, "ann")
        me = make_window(tmp_path / "me.json")
        chat = await open_room(me, f"127.0.0.1:{port}", 1)
        link = f"http://127.0.0.1:{port}/?room=lobby"
        me.open_link(link)
        assert len(me.conversations) == 2, "listed at once, while it joins"
        lobby = me.conversations[1]
        assert me.current is lobby
        await until(lambda: lobby.controller.state is SessionState.OPEN, "the link's room")
        assert lobby.title == "#lobby"
        assert chat.controller.state is SessionState.OPEN, "the first room stays"
        me.show_conversation(chat)
        me.open_link(link)
        assert len(me.conversations) == 2, "an open room is brought in front, not doubled"
        assert me.current is lobby

        unreachable = f"127.0.0.1:{free_port()}"
        me.open_link(unreachable)
        gone = me.conversations[2]
        await until(lambda: gone.trouble == "problem", "the failure in the sidebar")
        assert gone.state.startswith("not joined")

        # A reconnect that meets another certificate than the one pinned (as the session
        # reports it): the room's line says so, in two words.
        refusal = UntrustedCertificate("this room's identity changed", "sha256:ab")
        assert field_of(refusal) == "identity"
        lobby.controller.joinFailed.emit(field_of(refusal), str(refusal), refusal.detail)
        assert line(me, lobby, ConversationModel.StateRole) == "identity changed"
        assert line(me, lobby, ConversationModel.TroubleRole) == "problem"

    qloop.run_until_complete(scenario())


def test_a_hosted_room_is_hosted_again_at_the_next_start_on_its_port(
    qloop: qasync.QEventLoop, make_window: WindowFactory, tmp_path: Path
) -> None:
    settings = tmp_path / "ann.json"

    async def scenario() -> None:
        port = free_port()
        ann = make_window(settings)
        await host_room(ann, port, "ann")
        (hosted,) = ann.conversations
        assert hosted.host == f"hosted here, port {port}"
        ann.close()
        assert ann.confirmation is not None, "closing asks first"
        answer(ann.confirmation, "Stop and close")
        await ann.shutdown()
        again = make_window(settings)
        again.restore_rooms()
        (back,) = again.conversations
        await until(lambda: back.controller.state is SessionState.OPEN, "hosting again")
        assert back.controller.hosting
        assert back.controller.host_info is not None
        assert back.controller.host_info.port == port
        assert back.title == "#chat"

    qloop.run_until_complete(scenario())
