"""Email over SMTP: owners' digests and notices before acting, HTML with a text part.

Why rendered when queued: the row holds exactly what is sent (subject, text, HTML and
the addresses, none of them secret), so a retry sends the same message; the password is
read when sending. Every Neon name is HTML-escaped, subjects are one line (a line break
would start a new header), and the Message-ID comes from the delivery id, so a message
sent twice after a crash (at-least-once) is one message to a mail client.

``smtplib`` blocks: each send runs in a thread. Security: STARTTLS (default) or TLS, or
none to a server on loopback only (``[email]`` refuses anything else).
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from governor.channels.base import OutboxChannel, owner_destination
from governor.channels.documents import Data, digest_data, iso, notice_data
from governor.channels.text import html_text, money, one_line
from governor.channels.transport import DeliveryError, named_secret
from governor.config.channels import EmailSettings
from governor.notify.documents import Digest
from governor.policy import Policy
from governor.remediate.plan import PlanItem
from governor.secrets import redact
from governor.store.deliveries import Delivery

NOTICES = "notices"
_ADDRESS = re.compile(r"^[^\s@<>,;\"]+@[^\s@<>,;\"]+$")
_STYLE = "font-family:sans-serif;font-size:14px"


def _addresses(values: Sequence[str]) -> list[str]:
    """Plain ``user@host`` addresses only: no display names, commas or line breaks."""
    return [value for value in values if _ADDRESS.match(value)]


class EmailChannel(OutboxChannel):
    """Enqueues owners' digests (their ``emails``) and notices (``[email] notices_to``)."""

    name = "email"

    @property
    def settings(self) -> EmailSettings:
        return self.config.email

    async def notice(self, items: Sequence[PlanItem], policies: dict[str, Policy]) -> str | None:
        to = _addresses(self.settings.notices_to)
        if not self.settings.configured or not to:
            return None
        now = self.clock()
        data = notice_data(items, now=now, policies=policies)
        await self.enqueue(NOTICES, "notice", notice_email(data, to), ref=f"notices:{iso(now)}")
        return "email"

    async def digest(self, digest: Digest) -> list[str]:
        contact = self.contacts(digest.owner)
        to = _addresses(contact.emails) if contact is not None else []
        if not self.settings.configured or not to:
            return []
        await self.enqueue(
            owner_destination(digest.owner),
            "digest",
            digest_email(digest_data(digest), to),
            ref=f"digest:{digest.owner}:{digest.created_at}",
        )
        return ["email"]


# Rendering ------------------------------------------------------------------------------


def _html(title: str, paragraphs: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A small self-contained HTML body; every argument is already escaped."""
    head = "".join(f"<th align='left'>{cell}</th>" for cell in rows[0]) if rows else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows[1:]
    )
    table = (
        "<table cellpadding='4' border='1' style='border-collapse:collapse'>"
        f"<tr>{head}</tr>{body}</table>"
        if len(rows) > 1
        else ""
    )
    text = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return (
        f"<!DOCTYPE html><html><body style='{_STYLE}'><h2>{title}</h2>{text}{table}"
        "<p style='color:#666'>Sent by neon-governor.</p></body></html>"
    )


def digest_email(data: Data, to: Sequence[str]) -> dict[str, Any]:
    """Subject, text and HTML of an owner's digest."""
    owner = str(data["owner"])
    subject = one_line(
        f"Neon digest for {owner}: {data['open_count']} open, {data['new_count']} new, "
        f"{money(float(data['total_usd']))}/month",
        200,
    )
    summary = (
        f"{data['open_count']} open findings ({data['new_count']} new, "
        f"{data['resolved_count']} resolved since the last digest), "
        f"{money(float(data['total_usd']))}/month to save."
    )
    notes = [str(data["counted_once_note"])] if data.get("counted_once_note") else []
    if data.get("truncated"):
        notes.append(f"{data['truncated']} more open findings are not listed.")
    lines = [summary, *notes, ""]
    rows: list[list[str]] = [["Status", "Resource", "Policy", "Monthly", "Why", "Action"]]
    for item in data["items"]:
        action = str(item.get("approve_command") or item.get("action") or "")
        usd = item.get("monthly_usd")
        lines.append(
            f"- [{item['status']}] {one_line(item['resource_type'], 30)} "
            f"{one_line(item['name'], 150)} ({one_line(item['resource_id'], 80)}) · "
            f"{one_line(item['policy'], 80)} · {money(usd)}/month · "
            f"{one_line(item['summary'], 300)}" + (f" · {one_line(action, 80)}" if action else "")
        )
        rows.append(
            [
                html_text(item["status"], 20),
                f"<b>{html_text(item['name'], 150)}</b><br>"
                f"{html_text(item['resource_type'], 30)} <code>"
                f"{html_text(item['resource_id'], 80)}</code>",
                f"<code>{html_text(item['policy'], 80)}</code>",
                html_text(money(usd)),
                html_text(item["summary"], 300),
                f"<code>{html_text(action, 80)}</code>" if action else "",
            ]
        )
    text = "\n".join([f"Neon digest for {one_line(owner, 80)}", "", *lines]) + "\n"
    html = _html(
        f"Neon digest for {html_text(owner, 80)}",
        [html_text(summary, 400), *(html_text(note, 400) for note in notes)],
        rows,
    )
    return {"to": list(to), "subject": subject, "text": text, "html": html}


def notice_email(data: Data, to: Sequence[str]) -> dict[str, Any]:
    """Subject, text and HTML of a pass's notices (grace periods count from it)."""
    count = int(data["count"])
    subject = f"Neon governor: {count} change(s) noticed; grace counts from now"
    head = (
        f"{count} change(s) to Neon noticed. Each runs no sooner than said below: grace "
        "periods count from this notice."
    )
    footer = "To stop one: `neon-governor keep`, `neon-governor reject`, or `pause`."
    lines = [head, ""]
    rows: list[list[str]] = [["Resource", "Change", "Policy", "When"]]
    for item in data["items"]:
        change = str(item.get("request") or item.get("change") or "")
        lines.append(
            f"- {one_line(item['resource_type'], 30)} {one_line(item['name'], 150)} "
            f"({one_line(item['resource_id'], 80)}): {one_line(change, 150)} by "
            f"{one_line(item['policy'], 80)}, {one_line(item['when'], 120)}"
        )
        rows.append(
            [
                f"<b>{html_text(item['name'], 150)}</b><br>{html_text(item['resource_type'], 30)}"
                f" <code>{html_text(item['resource_id'], 80)}</code>",
                f"<code>{html_text(change, 150)}</code>",
                f"<code>{html_text(item['policy'], 80)}</code>",
                html_text(item["when"], 120),
            ]
        )
    if data.get("more"):
        lines.append(f"And {data['more']} more (see `neon-governor plan`).")
    lines += ["", footer]
    html = _html(
        "Neon governor: changes coming",
        [html_text(head, 400), html_text(footer, 200)],
        rows,
    )
    return {"to": list(to), "subject": subject, "text": "\n".join(lines) + "\n", "html": html}


# Sending --------------------------------------------------------------------------------


def message_id(delivery: Delivery, sender: str) -> str:
    """The same Message-ID on every send of one delivery (its id and creation time)."""
    stamp = re.sub(r"\D", "", delivery.created_at)[:20]
    domain = sender.rpartition("@")[2]
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,200}", domain):
        domain = "neon-governor.invalid"
    return f"<neon-governor.{delivery.id}.{stamp}@{domain}>"


def build_message(delivery: Delivery, settings: EmailSettings, *, now: datetime) -> EmailMessage:
    payload = delivery.payload
    sender = settings.sender or ""
    to = _addresses([str(address) for address in payload.get("to", [])])
    if not to:
        raise DeliveryError(f"email delivery {delivery.id} has no valid address", permanent=True)
    message = EmailMessage()
    message["Subject"] = one_line(payload.get("subject", "Neon governor"), 200)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(delivery, sender)
    message["X-Neon-Governor-Delivery"] = str(delivery.id)
    message.set_content(str(payload.get("text", "")))
    message.add_alternative(str(payload.get("html", "")), subtype="html")
    return message


class EmailTransport:
    """Sends an email delivery over SMTP, in a thread; ``ssl_context``: whom to trust
    (default: the system's CAs)."""

    def __init__(
        self,
        settings: EmailSettings,
        *,
        config_dir: Path | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings, self.config_dir = settings, config_dir
        self.ssl_context = ssl_context

    def _password(self) -> str | None:
        if not self.settings.username:
            return None
        return named_secret(
            "[email] password",
            self.settings.password_env,
            self.settings.password_file,
            self.config_dir,
        )

    async def send(self, delivery: Delivery, *, now: datetime) -> None:
        if not self.settings.configured:
            raise DeliveryError("[email] host is no longer set", permanent=True)
        message = build_message(delivery, self.settings, now=now)
        password = self._password()
        try:
            await asyncio.to_thread(self._send, message, password)
        except smtplib.SMTPResponseException as error:
            text = redact(f"SMTP {error.smtp_code}: {error.smtp_error!r}", (password,))
            # 5xx: the server refuses this message for good (auth, recipients, size)
            raise DeliveryError(
                f"email to {self.settings.host}: {text}", permanent=500 <= error.smtp_code < 600
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(
                f"email to {self.settings.host}: the server does not offer "
                f"{self.settings.security.upper()} or AUTH as configured",
                permanent=True,
            ) from None
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(
                f"email to {self.settings.host}: {len(error.recipients)} recipient(s) refused",
                permanent=True,
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            text = redact(f"{type(error).__name__}: {error}", (password,))
            raise DeliveryError(f"email to {self.settings.host}: {text}") from None

    def _send(self, message: EmailMessage, password: str | None) -> None:
        settings = self.settings
        host = settings.host or ""
        context = self.ssl_context or ssl.create_default_context()
        client: smtplib.SMTP
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(
                host, settings.port, timeout=settings.timeout_seconds, context=context
            )
        else:
            client = smtplib.SMTP(host, settings.port, timeout=settings.timeout_seconds)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.username and password is not None:
                client.login(settings.username, password)
            client.send_message(message)
