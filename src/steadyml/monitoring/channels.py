"""Deliver alerts to the channels in ``monitoring.channels``: the log, a webhook, or email.

An alert is a plain dict (rule, severity, metric, value, threshold, window, owner, message,
next step...). :func:`deliver` sends it to one :class:`~steadyml.config.ChannelConfig` and
returns a :class:`Delivery` that says whether it went out and, if not, why and what to check.
Delivery never raises: a broken channel must not stop the monitor or the other channels.

No extra dependency is needed. A webhook is one JSON POST, which ``httpx`` (already required
by steadyml) does with timeouts and clear errors; the body carries a ``text`` field, so Slack,
Mattermost, Teams connectors and most chat-ops receivers accept it as is. Email is one message
to one SMTP relay, which the standard library's ``smtplib`` and ``email.message`` cover,
STARTTLS, implicit TLS (SMTPS, port 465) and login included. Secrets stay out of the config
file: it names the environment variables that hold the SMTP user and password, and a login is
refused over a connection without TLS unless the channel sets ``allow_plaintext_login``.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx

from steadyml.config import ChannelConfig

__all__ = ["Delivery", "alert_text", "deliver", "deliver_all"]

DEFAULT_LOGGER = "steadyml.alerts"
USER_AGENT = "steadyml"
WEBHOOK_ATTEMPTS = 3
# Pause before the 2nd and 3rd webhook attempts: long enough for a restarting receiver,
# short enough not to hold up the monitor.
_BACKOFF_S = (0.2, 0.5)
_BODY_PREVIEW = 200
SMTPS_PORT = 465  # implicit TLS by default on this port
_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one alert to one channel.

    ``channel`` names the channel without secrets (``"log"``, ``"webhook https://host/path"``,
    ``"email a@b, c@d"``); ``detail`` is ``"sent"`` or the reason it failed and what to check.
    """

    channel: str
    ok: bool
    detail: str


# --- text ----------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _severity(alert: Mapping[str, Any]) -> str:
    return str(alert.get("severity") or "warning").lower()


def _resolved(alert: Mapping[str, Any]) -> bool:
    return str(alert.get("status") or "open").lower() == "resolved"


def _where(alert: Mapping[str, Any]) -> str:
    project = alert.get("project")
    version = alert.get("model_version")
    if project is None:
        return "steadyml"
    return f"{project} v{version}" if version is not None else str(project)


def _message(alert: Mapping[str, Any]) -> str:
    message = alert.get("message") or alert.get("rule") or alert.get("metric") or "alert"
    return " ".join(str(message).split())


def _value_line(alert: Mapping[str, Any]) -> str | None:
    if alert.get("value") is None:
        return None
    line = f"Value: {_fmt(alert['value'])}"
    if alert.get("threshold") is not None:
        comparison = alert.get("comparison") or "vs"
        line += f" (line: {comparison} {_fmt(alert['threshold'])})"
    if alert.get("metric"):
        line += f" on {alert['metric']}"
    return line


def alert_text(alert: Mapping[str, Any]) -> str:
    """Short plain text for chat and email: what crossed which line, when, who owns it, what next.

    >>> print(alert_text({"id": 3, "severity": "critical", "project": "churn",
    ...                   "message": "error rate 0.2", "value": 0.2, "comparison": ">",
    ...                   "threshold": 0.05}))
    [CRITICAL] churn: error rate 0.2
    Value: 0.2 (line: > 0.05)
    Acknowledge: steadyml alerts ack 3
    """
    tag = f"[{_severity(alert).upper()}]"
    head = f"{tag} RESOLVED" if _resolved(alert) else tag
    lines = [f"{head} {_where(alert)}: {_message(alert)}"]
    value_line = _value_line(alert)
    if value_line:
        lines.append(value_line)
    if alert.get("window_start") or alert.get("window_end"):
        start = alert.get("window_start") or "?"
        end = alert.get("window_end") or "?"
        lines.append(f"Window: {start} to {end}")
    if alert.get("rule"):
        lines.append(f"Rule: {alert['rule']}")
    if alert.get("owner"):
        lines.append(f"Owner: {alert['owner']}")
    if alert.get("next_step") and not _resolved(alert):
        lines.append(f"Next step: {alert['next_step']}")
    if alert.get("id") is not None and not _resolved(alert):
        lines.append(f"Acknowledge: steadyml alerts ack {alert['id']}")
    return "\n".join(lines)


# --- channels ------------------------------------------------------------------------------


def _webhook_label(url: str | None) -> str:
    """``webhook scheme://host[:port]/path`` without user, password, query or fragment.

    Path segments of 16 characters or more are shown as ``***``: chat webhooks (Slack,
    Mattermost) carry their token in the path.
    """
    if not url:
        return "webhook (no url)"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "webhook (invalid url)"
    path = "/".join("***" if len(seg) >= 16 else seg for seg in parts.path.split("/"))
    return f"webhook {parts.scheme}://{host}{port}{path}"


def _label(channel: ChannelConfig) -> str:
    if channel.kind == "webhook":
        return _webhook_label(channel.url)
    if channel.kind == "email":
        return f"email {', '.join(channel.to)}" if channel.to else "email (no recipients)"
    return channel.kind


def _deliver_log(alert: Mapping[str, Any], logger: logging.Logger) -> Delivery:
    level = logging.INFO if _resolved(alert) else _LOG_LEVELS.get(_severity(alert), logging.WARNING)
    logger.log(level, " | ".join(alert_text(alert).splitlines()))
    return Delivery("log", True, "sent")


def _deliver_webhook(channel: ChannelConfig, alert: Mapping[str, Any]) -> Delivery:
    label = _webhook_label(channel.url)
    if not channel.url:
        return Delivery(
            label,
            False,
            "The webhook channel has no url. Add `url: https://...` to this channel in "
            "monitoring.channels.",
        )
    try:
        parts = urlsplit(channel.url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        return Delivery(
            label,
            False,
            "The webhook url must start with http:// or https:// and name a host. "
            "Check `url` for this channel in monitoring.channels.",
        )
    body = json.dumps({"text": alert_text(alert), "alert": dict(alert)}, default=str)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    reason = ""
    with httpx.Client(timeout=channel.timeout_s, headers=headers) as client:
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            if attempt > 1:
                time.sleep(_BACKOFF_S[min(attempt - 2, len(_BACKOFF_S) - 1)])
            try:
                response = client.post(channel.url, content=body)
            except httpx.TimeoutException as exc:
                reason = f"no answer within {channel.timeout_s:g} s ({type(exc).__name__})"
                continue
            except httpx.HTTPError as exc:
                reason = f"could not connect ({type(exc).__name__}: {exc})"
                continue
            if 200 <= response.status_code < 300:
                return Delivery(label, True, "sent")
            preview = " ".join(response.text[:_BODY_PREVIEW].split())
            reason = f"the receiver answered HTTP {response.status_code}: {preview or '(empty)'}"
            if response.status_code < 500:
                return Delivery(
                    label,
                    False,
                    f"Webhook not delivered: {reason}. A 4xx means the request was refused: "
                    "check the url (a revoked or mistyped webhook answers 404/403) and that "
                    'the receiver accepts Slack-style JSON {"text": ...}.',
                )
    return Delivery(
        label,
        False,
        f"Webhook not delivered after {WEBHOOK_ATTEMPTS} attempts: {reason}. Check that the "
        "receiver is up and reachable from this machine (url, host, port, proxy, firewall); "
        "raise timeout_s if it is slow.",
    )


def _credentials(
    channel: ChannelConfig, env: Mapping[str, str]
) -> tuple[tuple[str, str] | None, str | None]:
    """Return ((user, password) or None, error message or None)."""
    if not channel.username_env and not channel.password_env:
        return None, None
    values: dict[str, str] = {}
    for field, name in (
        ("username_env", channel.username_env),
        ("password_env", channel.password_env),
    ):
        if not name:
            other = "password_env" if field == "username_env" else "username_env"
            return None, (
                f"SMTP login needs both username_env and password_env; only {other} is set. "
                f"Add {field} to this email channel in monitoring.channels."
            )
        value = env.get(name)
        if not value:
            return None, (
                f"Environment variable {name} (named by {field}) is not set, so the SMTP login "
                f"cannot be made. Set {name} where the monitor runs, or remove {field} if the "
                "relay needs no login."
            )
        values[field] = value
    return (values["username_env"], values["password_env"]), None


def _email_message(channel: ChannelConfig, alert: Mapping[str, Any]) -> EmailMessage:
    state = "RESOLVED " if _resolved(alert) else ""
    project = alert.get("project") or "steadyml"
    subject = f"[steadyml] {state}{_severity(alert).upper()} {project}: {_message(alert)}"
    if len(subject) > 200:
        subject = subject[:197] + "..."
    fields = "\n".join(f"{key}: {_fmt(value)}" for key, value in alert.items())
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message.set_content(f"{alert_text(alert)}\n\n-- alert fields --\n{fields}\n")
    return message


def _deliver_email(
    channel: ChannelConfig, alert: Mapping[str, Any], env: Mapping[str, str]
) -> Delivery:
    label = _label(channel)
    server = f"{channel.smtp_host}:{channel.smtp_port}"
    if not channel.to:
        return Delivery(
            label,
            False,
            "The email channel has no recipients. Add `to: [someone@example.com]` to this "
            "channel in monitoring.channels.",
        )
    credentials, problem = _credentials(channel, env)
    if problem:
        return Delivery(label, False, problem)
    implicit = _implicit_tls(channel)
    if implicit and channel.starttls:
        return Delivery(
            label,
            False,
            "This email channel sets both implicit_tls: true and starttls: true; a connection "
            "uses one or the other. Set starttls: false for an SMTPS "
            "relay (usually port 465), or implicit_tls: false for a STARTTLS one (usually 587).",
        )
    if credentials and not (implicit or channel.starttls) and not channel.allow_plaintext_login:
        return Delivery(
            label,
            False,
            f"Not sent: the SMTP login to {server} would send the password in clear text "
            "(starttls is false and implicit_tls is off). Set starttls: true (port 587) or "
            "implicit_tls: true (port 465) on this channel in monitoring.channels; only for a "
            "relay on a trusted network, set allow_plaintext_login: true.",
        )
    try:
        message = _email_message(channel, alert)
        with _connect(channel, implicit) as smtp:
            if channel.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if credentials:
                smtp.login(*credentials)
            refused = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        return Delivery(
            label,
            False,
            f"The SMTP server {server} refused the login ({exc.smtp_code}). Check the user and "
            f"password in {channel.username_env} and {channel.password_env}.",
        )
    except smtplib.SMTPNotSupportedError as exc:
        return Delivery(
            label,
            False,
            f"The SMTP server {server} does not support a step this channel asks for ({exc}). "
            "Check starttls and the login settings against what the relay offers.",
        )
    except smtplib.SMTPRecipientsRefused as exc:
        return Delivery(
            label,
            False,
            f"The SMTP server {server} refused every recipient: {_refusals(exc.recipients)}. "
            "Check the addresses in `to` and that the relay accepts mail for them.",
        )
    except smtplib.SMTPException as exc:
        return Delivery(
            label,
            False,
            f"The SMTP server {server} did not take the message ({type(exc).__name__}: {exc}). "
            "Check sender, recipients and the relay's rules.",
        )
    except (OSError, ValueError) as exc:
        return Delivery(
            label,
            False,
            f"Could not talk to the SMTP server {server} ({type(exc).__name__}: {exc}). Check "
            "smtp_host, smtp_port, starttls, implicit_tls and that the relay is reachable from "
            "this machine.",
        )
    if refused:
        return Delivery(
            label,
            False,
            f"Sent to some recipients, but the SMTP server {server} refused "
            f"{_refusals(refused)}. Check those addresses in `to`.",
        )
    return Delivery(label, True, "sent")


def _implicit_tls(channel: ChannelConfig) -> bool:
    """TLS from the first byte: as set, else on for port 465 (SMTPS) unless starttls is."""
    if channel.implicit_tls is not None:
        return channel.implicit_tls
    return channel.smtp_port == SMTPS_PORT and not channel.starttls


def _connect(channel: ChannelConfig, implicit: bool) -> smtplib.SMTP:
    if implicit:
        return smtplib.SMTP_SSL(
            channel.smtp_host,
            channel.smtp_port,
            timeout=channel.timeout_s,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=channel.timeout_s)


def _refusals(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reply.decode(errors='replace')})"
        for address, (code, reply) in recipients.items()
    )


# --- public API ----------------------------------------------------------------------------


def deliver(
    channel: ChannelConfig,
    alert: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    logger: logging.Logger | None = None,
) -> Delivery:
    """Send ``alert`` to one channel and report how it went; never raises.

    ``env`` is where the SMTP user and password variables are read (default ``os.environ``);
    ``logger`` is used by the log channel (default ``logging.getLogger("steadyml.alerts")``).
    """
    try:
        if channel.kind == "log":
            return _deliver_log(alert, logger or logging.getLogger(DEFAULT_LOGGER))
        if channel.kind == "webhook":
            return _deliver_webhook(channel, alert)
        if channel.kind == "email":
            return _deliver_email(channel, alert, os.environ if env is None else env)
        return Delivery(
            str(channel.kind),
            False,
            f"Unknown channel kind {channel.kind!r}. Expected one of: log, webhook, email.",
        )
    except Exception as exc:  # one broken channel must not stop the others
        return Delivery(
            _label(channel),
            False,
            f"Unexpected error while sending ({type(exc).__name__}: {exc}). This is a bug in "
            "steadyml; please report it with the channel settings (without secrets).",
        )


def deliver_all(
    channels: Sequence[ChannelConfig],
    alert: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    logger: logging.Logger | None = None,
) -> list[Delivery]:
    """Send ``alert`` to every channel, in order; one failure does not stop the rest."""
    return [deliver(channel, alert, env=env, logger=logger) for channel in channels]
