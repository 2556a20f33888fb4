"""Direct messages through a real host: to one member only (never a third member, a raw
member or a v1 client, also after a reconnect and in history pages), refused in words when
nobody can receive them, and kept in a history of the two of them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from websockets.asyncio.client import ClientConnection, connect

from desktopchat.client import Failed, Received, Session, SessionEvent
from desktopchat.server.web.runner import HostedServer
from tests.integration.conftest import hosted, member, url


class Listener:
    """A session and everything it heard."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.heard: list[SessionEvent] = []
        session.subscribe(self.heard.append)

    def messages(self) -> list[tuple[str, str, str]]:
        return [
            (e.message.sender, e.message.to, e.message.text)
            for e in self.heard
            if isinstance(e, Received)
        ]

    async def until(self, what: str, within: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not any(what in str(m) for m in self.messages()):
            assert asyncio.get_running_loop().time() < deadline, f"{what} never came"
            await asyncio.sleep(0.02)


@asynccontextmanager
async def joined(
    server: HostedServer, name: str, key: str | None = None
) -> AsyncIterator[Listener]:
    session = Session(f"127.0.0.1:{server.port}", name=name, key=key)
    listener = Listener(session)
    await session.start()
    try:
        yield listener
    finally:
        await session.close()


async def frames(ws: ClientConnection, within: float = 0.3) -> list[str]:
    """Whatever a plain connection received for a while."""
    got: list[str] = []
    try:
        while True:
            frame = await asyncio.wait_for(ws.recv(), within)
            got.append(frame if isinstance(frame, str) else frame.decode("latin-1"))
    except TimeoutError:
        return got


async def test_a_direct_message_reaches_its_recipient_alone_and_stays_out_of_the_room() -> None:
    async with (
        hosted() as server,
        joined(server, "ada", key="ada-key-0123456789") as ada,
        joined(server, "bob", key="bob-key-0123456789") as bob,
        joined(server, "cy") as cy,
        member(server, "old") as v1,
        connect(url(server), proxy=None) as raw,
    ):
        await ada.session.send_text("hello room")
        await ada.session.send_direct("BOB", "a secret for bob")  # names match as members do
        await ada.session.send_text("marker")
        await bob.until("a secret for bob")
        await cy.until("marker")
        assert ("ada", "bob", "a secret for bob") in bob.messages()
        assert not any("secret" in str(m) for m in cy.messages()), "a third member saw it"
        seen = await frames(v1) + await frames(raw)
        assert any("marker" in frame for frame in seen)
        assert not any("secret" in frame for frame in seen), "a v1 or raw member saw it"

        await bob.session.send_direct("ada", "and one back")
        await ada.until("and one back")

        # Pages: the room's never holds it; the conversation's holds both, for the two only.
        room = await ada.session.history(10_000)
        assert [m.text for m in room.messages] == ["hello room", "marker"]
        theirs = await ada.session.history(10_000, with_="bob")
        assert [(m.sender, m.to, m.text) for m in theirs.messages] == [
            ("ada", "bob", "a secret for bob"),
            ("bob", "ada", "and one back"),
        ]
        assert (await cy.session.history(10_000, with_="bob")).messages == ()
        assert (await cy.session.history(10_000, with_="ada")).messages == ()

        # Bob comes back (same client key): the room's backlog has no direct message, and
        # the conversation is still his.
        await bob.session.close()
        async with joined(server, "bob", key="bob-key-0123456789") as again:
            await again.until("marker")
            assert not any("secret" in str(m) for m in again.messages())
            page = await again.session.history(10_000, with_="ada")
            assert [m.text for m in page.messages] == ["a secret for bob", "and one back"]
        # Somebody else takes the name "bob": not the same client, not the same conversation.
        async with joined(server, "bob", key="not-bob-0123456789") as impostor:
            assert (await impostor.session.history(10_000, with_="ada")).messages == ()


async def test_a_direct_message_nobody_can_receive_is_refused_in_words() -> None:
    async with (
        hosted() as server,
        joined(server, "ada") as ada,
        member(server, "old") as _v1,
        connect(url(server), proxy=None) as raw,
    ):
        await raw.send("plain hello")
        await ada.session.send_direct("nobody", "hi")
        await ada.session.send_direct("old", "hi")
        deadline = asyncio.get_running_loop().time() + 5
        while len([e for e in ada.heard if isinstance(e, Failed)]) < 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        reasons = [e.reason for e in ada.heard if isinstance(e, Failed)]
        assert "nobody called 'nobody' is in #chat now" in reasons[0]
        assert "old's app is too old for direct messages" in reasons[1]


async def test_a_server_that_knows_no_direct_messages_refuses_in_words() -> None:
    """What an older server answers (the compatibility rule): an unknown type, an error."""
    async with hosted() as server, member(server, "ada") as ws:
        await ws.send(json.dumps({"type": "directly", "to": "bob", "text": "hi", "cid": "c1"}))
        error = json.loads(await ws.recv())
        assert error["type"] == "error"
        assert "unknown message type 'directly'" in error["message"]


async def test_what_came_while_a_session_was_away_is_caught_up_after_its_reconnect() -> None:
    async with (
        hosted() as server,
        joined(server, "ada", key="ada-key-0123456789") as ada,
        joined(server, "bob", key="bob-key-0123456789") as bob,
        joined(server, "bob laptop", key="bob-key-0123456789") as laptop,
    ):
        await ada.session.send_direct("bob", "before")
        await bob.until("before")
        ws = bob.session.link.ws
        assert ws is not None
        ws.transport.abort()  # the Wi-Fi drops: no close frame
        # Said to his other session meanwhile: the same conversation (the same client key).
        await ada.session.send_direct("bob laptop", "while you were away")
        await laptop.until("while you were away")
        await bob.until("while you were away", within=15)
        await bob.session.send_direct("ada", "back")
        await ada.until("back")
        texts = [text for _sender, _to, text in bob.messages()]
        assert texts.count("before") == 1
        assert texts.count("while you were away") == 1
