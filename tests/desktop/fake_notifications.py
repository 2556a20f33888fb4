"""A freedesktop notification server on the session bus that records what it is asked to
show (as GNOME Shell or KDE would display it), and can "click" a notification."""

from __future__ import annotations

from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"

INTROSPECTION = f"""<node>
  <interface name="{NAME}">
    <method name="GetCapabilities"><arg direction="out" type="as"/></method>
    <method name="GetServerInformation">
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
    </method>
    <method name="Notify">
      <arg direction="in" type="s"/><arg direction="in" type="u"/>
      <arg direction="in" type="s"/><arg direction="in" type="s"/>
      <arg direction="in" type="s"/><arg direction="in" type="as"/>
      <arg direction="in" type="a{{sv}}"/><arg direction="in" type="i"/>
      <arg direction="out" type="u"/>
    </method>
    <method name="CloseNotification"><arg direction="in" type="u"/></method>
    <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
    <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
  </interface>
</node>"""


class FakeNotifications:
    """Answers the notification API on ``bus``; ``shown`` holds every ``Notify`` call."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self.shown: list[dict[str, Any]] = []
        self.closed: list[int] = []
        bus.add_message_handler(self._handle)

    def _handle(self, message: Message) -> Message | None:
        if message.message_type is not MessageType.METHOD_CALL or message.path != PATH:
            return None
        member = message.member
        if member == "Introspect":
            return Message.new_method_return(message, "s", [INTROSPECTION])
        if member == "GetCapabilities":
            # As GNOME Shell and Plasma: the body may be markup.
            return Message.new_method_return(message, "as", [["body", "body-markup", "actions"]])
        if member == "GetServerInformation":
            return Message.new_method_return(message, "ssss", ["fake", "tests", "1", "1.2"])
        if member == "Notify":
            app_name, _replaces, _icon, summary, body, actions, _hints, _timeout = message.body
            self.shown.append(
                {"app_name": app_name, "summary": summary, "body": body, "actions": actions}
            )
            return Message.new_method_return(message, "u", [len(self.shown)])
        if member == "CloseNotification":
            self.closed.append(message.body[0])
            return Message.new_method_return(message)
        return None

    async def click(self, notification_id: int) -> None:
        """The user clicks the notification's body (its ``default`` action)."""
        await self.bus.send(
            Message.new_signal(PATH, NAME, "ActionInvoked", "us", [notification_id, "default"])
        )


async def serve() -> FakeNotifications:
    """Own the notification service's name on the session bus."""
    bus = await MessageBus().connect()
    service = FakeNotifications(bus)
    await bus.request_name(NAME)
    return service
