"""Run inside a namespace: print the Join screen's list of LAN rooms as JSON, on every change."""

from __future__ import annotations

import asyncio
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, Qt

from desktopchat.client.discovery import FoundRoom, RoomBrowser
from desktopchat.gui.found_rooms import FoundRoomsModel


async def watch(seconds: float) -> None:
    model = FoundRoomsModel()

    def changed(rooms: list[FoundRoom]) -> None:
        model.set_rooms(rooms)
        shown = [
            str(model.data(model.index(row), Qt.ItemDataRole.DisplayRole))
            for row in range(model.rowCount())
        ]
        urls = [room.url for room in rooms]
        print(json.dumps({"shown": shown, "urls": urls}), flush=True)

    browser = RoomBrowser(changed)
    await browser.start()
    print(json.dumps({"ready": True}), flush=True)
    try:
        await asyncio.sleep(seconds)
    finally:
        await browser.stop()


if __name__ == "__main__":
    application = QCoreApplication(sys.argv)
    asyncio.run(watch(float(sys.argv[1])))
