"""The ways a notification reaches a person: one small class per channel.

Each channel sends with the code the inbox already uses for that platform, so the error words,
the TLS handling and the ``permanent`` / ``uncertain`` line are the connectors' own: e-mail with
:meth:`connectors.email.EmailConnector.send_mail` over the ``[notify.email]`` SMTP server,
Telegram with :meth:`connectors.telegram.TelegramConnector.send_message` from the
``[notify.telegram]`` bot. A channel's ``send`` returns the platform's id of the message or
raises :class:`connectors.base.ConnectorError`; it never retries (the outbox does).
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, ClassVar

import requests

from connectors.base import ConnectorError, utcnow

#: Telegram's limit for one message.
TELEGRAM_MAX = 4096


class Channel:
    """A configured way to send notifications."""

    name: ClassVar[str]

    def __init__(self, options: dict[str, Any], session: requests.Session | None = None) -> None:
        self.options = options
        self.session = session

    def send(self, destination: str, subject: str, text: str) -> str:
        raise NotImplementedError


class EmailChannel(Channel):
    name = "email"

    def connector(self) -> Any:
        from connectors.email import EmailConnector
        o = self.options
        return EmailConnector("notify", {
            "address": o["from_address"], "username": o.get("username") or o["from_address"],
            "password": o.get("password") or "", "imap_host": o["host"], "smtp_host": o["host"],
            "smtp_port": o.get("port") or 0, "smtp_security": o.get("security") or "starttls",
            "ca_file": o.get("ca_file") or ""})

    def send(self, destination: str, subject: str, text: str) -> str:
        if "@" not in destination:
            raise ConnectorError(f"Alamat e-mail {destination!r} tidak sah.", permanent=True)
        mail = EmailMessage()
        mail["From"] = self.options["from_address"]
        mail["To"] = destination
        mail["Subject"] = subject
        mail["Date"] = format_datetime(utcnow())
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office answers back
        mail["Message-ID"] = make_msgid("aduan-notify",
                                        self.options["from_address"].rpartition("@")[2])
        mail.set_content(text)
        return self.connector().send_mail(mail, f"alamat {destination}")


class TelegramChannel(Channel):
    name = "telegram"

    def send(self, destination: str, subject: str, text: str) -> str:
        from connectors.telegram import TelegramConnector
        body = f"{subject}\n\n{text}"
        if len(body) > TELEGRAM_MAX:
            body = body[:TELEGRAM_MAX - 1] + "…"
        bot = TelegramConnector("notify", {"bot_token": self.options["bot_token"]},
                                session=self.session)
        return bot.send_message({"chat_id": destination, "text": body,
                                 "link_preview_options": {"is_disabled": True}})


CHANNELS: dict[str, type[Channel]] = {"email": EmailChannel, "telegram": TelegramChannel}


def configured_channels(notify: dict[str, Any]) -> list[str]:
    """The channels whose ``[notify.<name>]`` table is filled in."""
    return [name for name in CHANNELS if notify.get(name)]


def channel(notify: dict[str, Any], name: str, session: requests.Session | None = None) -> Channel:
    """The channel ``name``; ConnectorError (permanent) when config no longer has it."""
    if name not in CHANNELS or not notify.get(name):
        raise ConnectorError(f"Saluran notifikasi {name} belum diatur di config.toml "
                             f"([notify.{name}]).", permanent=True)
    return CHANNELS[name](notify[name], session)
