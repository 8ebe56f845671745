"""Dev-only provider: logs the message instead of sending it."""
from __future__ import annotations

import logging
import uuid

from dispatcher.channels.base import Delivered, Message

log = logging.getLogger("backinstock.providers.console")


class ConsoleProvider:
    name = "console"

    def __init__(self, channel: str | None = None):
        self.channel = channel  # which channel fell back to the console, for the log

    async def send(self, message: Message) -> Delivered:
        message_id = uuid.uuid4().hex
        log.info("console %s to=%s subject=%r title=%r url=%s id=%s\n%s",
                 message.channel, message.to, message.subject, message.title, message.url,
                 message_id, message.text)
        return Delivered(self.name, message_id)

    async def close(self) -> None:
        return None
