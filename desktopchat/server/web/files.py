"""Files over HTTP, on the room's port, TLS and token: uploads that resume, downloads by range.

Why HTTP beside the WebSocket rather than chunks inside it: a transfer of gigabytes must not
queue behind (or ahead of) the chat on one socket; HTTP gives each transfer its own flow
control, uvicorn streams request bodies in pieces (the host never holds a file in memory),
``Range`` lets any client — the browser's own download manager, ``curl -C -`` — resume a
download, and an upload resumes from the offset the host reports. The upload side follows
the shape of tus (``HEAD`` for ``Upload-Offset``, ``PATCH`` from it).

- ``POST /files/{room}`` ``{"name", "size", "sha256", "mime"}`` (``application/json``):
  ``201`` with the file's ``id`` and ``offset`` (bytes the host has: announcing a file again
  finds the upload begun); ``507`` in words when the quota or the disk cannot hold it. A
  sender that cannot hash first gives ``"sha256": null`` and a ``"key"`` (16-128 of
  ``A-Za-z0-9_-``) to find it again; the host hashes it.
- ``HEAD /files/{room}/{id}``: ``Upload-Offset`` (bytes the host has) and ``Upload-Length``.
- ``PATCH /files/{room}/{id}`` with ``Upload-Offset: N`` (what ``HEAD`` said) and the bytes
  from there (``application/offset+octet-stream``): ``204`` with the new ``Upload-Offset``;
  ``409`` with the host's offset when N is not it. With the last byte the SHA-256 is checked
  (``422`` and nothing kept when it does not match) and answered in ``X-Content-SHA256``.
- ``DELETE /files/{room}/{id}`` with ``Upload-Key`` (the key, or the SHA-256): the sender
  cancels an unfinished upload.
- ``GET /files/{room}/{id}``: the bytes, ``Range`` honoured, always as an attachment of type
  ``application/octet-stream`` (never rendered), with ``X-Content-SHA256``.

Each member (address) has at most ``files_transfers`` uploads and downloads under way
(``429`` in words beyond) and ``files_rate`` bytes a second (paced, not refused). The room's
token goes in ``?token=`` or ``Authorization: Bearer``. Bodies other than JSON or
bytes are refused, so that a page elsewhere cannot post a form to the host.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from desktopchat.protocol import valid_room_name
from desktopchat.protocol.sizes import human_size
from desktopchat.server.settings import Settings
from desktopchat.server.stores.files import FileRefused, FileStore, StoredFile
from desktopchat.server.web.admission import token_valid
from desktopchat.server.web.transfers import TooManyTransfers, Transfer, Transfers

logger = logging.getLogger("desktopchat.server")

MAX_ANNOUNCEMENT_BYTES = 4096
_UPLOAD_TYPES = ("application/offset+octet-stream", "application/octet-stream")


class Attachment(FileResponse):
    """A file's bytes, read and sent a MiB at a time (Starlette's 64 KiB costs a turn of the
    loop, an ASGI message and an h11 event per 64 KiB of a file of gigabytes), paced by the
    member's transfer rate."""

    chunk_size = 1024 * 1024

    def __init__(self, path: Path, transfer: Transfer, **options: Any) -> None:
        super().__init__(path, **options)
        self.transfer = transfer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def paced(message: Message) -> None:
            if message["type"] == "http.response.body":
                await self.transfer.moved(len(message.get("body", b"")))
            await send(message)

        try:
            await super().__call__(scope, receive, paced)
        finally:
            self.transfer.done()


def _refusal(status: int, message: str, **headers: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _token(request: Request) -> str | None:
    bearer = request.headers.get("authorization", "")
    if bearer[:7].lower() == "bearer ":
        return bearer[7:].strip()
    return request.query_params.get("token")


class FileEndpoints:
    """The routes above, on ``store``, with the room's token from ``settings``."""

    def __init__(self, store: FileStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.transfers = Transfers(settings.files_rate, settings.files_transfers)
        keep = f"{settings.files_keep_days:g} days" if settings.files_keep_days else "no age limit"
        logger.info(
            "files: at most %s in all, %s; %s",
            human_size(settings.files_max_bytes),
            keep,
            self.transfers.describe(),
        )

    def routes(self) -> list[Route]:
        """The routes to mount."""
        return [
            Route("/files/{room}", self.create, methods=["POST"]),
            Route("/files/{room}/{ident}", self.one, methods=["GET", "HEAD", "PATCH", "DELETE"]),
        ]

    def _check(self, request: Request) -> Response | str:
        room = request.path_params["room"]
        if not valid_room_name(room):
            return _refusal(404, "no such room")
        if not token_valid(_token(request), self.settings.token):
            return _refusal(403, "invalid token")
        return str(room)

    async def create(self, request: Request) -> Response:
        """Announce a file; its id to upload it to."""
        room = self._check(request)
        if isinstance(room, Response):
            return room
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _refusal(415, "announce a file with a JSON body")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_ANNOUNCEMENT_BYTES:
                return _refusal(413, "the announcement is too long")
        try:
            fields = json.loads(body)
        except ValueError:
            return _refusal(400, "the announcement is not JSON")
        if not isinstance(fields, dict):
            return _refusal(400, "the announcement must be a JSON object")
        try:
            # Both read every file's record: on a worker thread, not the rooms' loop.
            stored = await asyncio.to_thread(self._announce, room, fields)
        except FileRefused as refused:
            logger.info("refused a file for #%s: %s", room, refused)
            return _refusal(refused.status, str(refused))
        logger.info("#%s: a file of %d bytes announced (%s)", room, stored.size, stored.id)
        offset = self.store.offset(stored)
        return JSONResponse(
            {**stored.offer.data()["file"], "offset": offset},
            status_code=201,
            headers={"Location": f"/files/{room}/{stored.id}"},
        )

    def _announce(self, room: str, fields: dict[str, Any]) -> StoredFile:
        self.store.sweep()
        name, size, sha256, mime, key = (
            fields.get(k) for k in ("name", "size", "sha256", "mime", "key")
        )
        return self.store.create(room, name, size, sha256, mime, key)

    async def one(self, request: Request) -> Response:
        """``HEAD``, ``PATCH`` or ``GET`` one file."""
        room = self._check(request)
        if isinstance(room, Response):
            return room
        stored = self.store.find(room, request.path_params["ident"])
        if stored is None:
            return _refusal(404, "no such file (it may have expired)")
        if request.method == "HEAD":
            return Response(headers=self._progress(stored))
        if request.method == "DELETE":
            return self._cancel(request, stored)
        if not self.store.complete(stored) and request.method == "GET":
            have = self.store.offset(stored)
            return _refusal(409, f"the file is not complete yet ({have} of {stored.size} bytes)")
        try:
            transfer = self.transfers.start(_address(request))
        except TooManyTransfers as refused:
            return _refusal(429, str(refused), **{"Retry-After": "5"})
        if request.method == "PATCH":
            try:
                return await self._receive(request, stored, transfer)
            finally:
                transfer.done()
        return Attachment(
            self.store.path(stored),
            transfer,
            media_type="application/octet-stream",
            filename=stored.name,
            content_disposition_type="attachment",
            headers={"X-Content-SHA256": stored.sha256, "Cache-Control": "no-store"},
        )

    def _progress(self, stored: StoredFile) -> dict[str, str]:
        return {
            "Upload-Offset": str(self.store.offset(stored)),
            "Upload-Length": str(stored.size),
            "Cache-Control": "no-store",
        }

    def _cancel(self, request: Request, stored: StoredFile) -> Response:
        try:
            self.store.cancel(stored, request.headers.get("upload-key", ""))
        except FileRefused as refused:
            return _refusal(refused.status, str(refused))
        logger.info("#%s: an upload was cancelled (%s)", stored.room, stored.id)
        return Response(status_code=204)

    async def _receive(self, request: Request, stored: StoredFile, transfer: Transfer) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip()
        if kind not in _UPLOAD_TYPES:
            return _refusal(415, "send the bytes as application/offset+octet-stream")
        try:
            offset = int(request.headers.get("upload-offset", ""))
        except ValueError:
            return _refusal(400, "Upload-Offset must say where these bytes start")
        try:
            with self.store.writer(stored, offset) as write:
                async for chunk in request.stream():
                    write(chunk)
                    await transfer.moved(len(chunk))
        except FileRefused as refused:
            headers = {} if refused.offset is None else {"Upload-Offset": str(refused.offset)}
            return _refusal(refused.status, str(refused), **headers)
        except ClientDisconnect:
            # What arrived is kept: the uploader continues from there.
            logger.info(
                "an upload to #%s stopped at %d bytes", stored.room, self.store.offset(stored)
            )
            return Response(status_code=400)
        try:
            done = await asyncio.to_thread(self.store.finish, stored)
        except FileRefused as refused:
            return _refusal(refused.status, str(refused))
        headers = self._progress(stored)
        if done is not None:
            headers["Upload-Complete"] = "true"
            headers["X-Content-SHA256"] = done.sha256
            logger.info("#%s: a file of %d bytes received whole", stored.room, stored.size)
        return Response(status_code=204, headers=headers)
