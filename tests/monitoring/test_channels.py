"""Alert delivery against real receivers: an HTTP server and an SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from steadyml.config import ChannelConfig
from steadyml.monitoring.channels import Delivery, alert_text, deliver, deliver_all

Receiver = Any  # the receiver fixture's type (tests/monitoring/conftest.py)


def make_alert(**overrides: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "id": 12,
        "rule": "drift on any feature",
        "severity": "warning",
        "owner": "data-science@example.com",
        "status": "open",
        "metric": "drift:monthly_charges",
        "subject": "monthly_charges",
        "value": 0.31,
        "comparison": ">",
        "threshold": 0.1,
        "window_start": "2026-01-15T00:00:00+00:00",
        "window_end": "2026-01-22T00:00:00+00:00",
        "project": "churn",
        "model_version": 1,
        "message": "monthly_charges drifted: Wasserstein distance 0.31 of a standard deviation "
        "(line: 0.1)",
        "next_step": "Look at the drift table in the monitoring report; if the change is real, "
        "retrain on recent data.",
    }
    alert.update(overrides)
    return alert


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_webhook_posts_slack_compatible_json(receiver: Receiver) -> None:
    channel = ChannelConfig(kind="webhook", url=receiver.url + "?token=s3cret")

    delivery = deliver(channel, make_alert())

    assert delivery == Delivery(f"webhook {receiver.url}", True, "sent")
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hooks/alerts?token=s3cret"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"].startswith("steadyml")
    body = json.loads(request["body"])
    assert body["alert"] == make_alert()
    text = body["text"]
    assert text == alert_text(make_alert())
    assert text.startswith("[WARNING] churn v1: monthly_charges drifted")
    assert "Value: 0.31 (line: > 0.1) on drift:monthly_charges" in text
    assert "Window: 2026-01-15T00:00:00+00:00 to 2026-01-22T00:00:00+00:00" in text
    assert "Owner: data-science@example.com" in text
    assert "Next step: Look at the drift table" in text
    assert "steadyml alerts ack 12" in text


def test_webhook_retries_server_errors_then_succeeds(receiver: Receiver) -> None:
    receiver.statuses = [500, 503, 200]

    delivery = deliver(ChannelConfig(kind="webhook", url=receiver.url), make_alert())

    assert delivery.ok, delivery.detail
    assert len(receiver.requests) == 3


def test_webhook_gives_up_after_three_server_errors(receiver: Receiver) -> None:
    receiver.statuses = [502]

    delivery = deliver(ChannelConfig(kind="webhook", url=receiver.url), make_alert())

    assert not delivery.ok
    assert len(receiver.requests) == 3
    assert "after 3 attempts" in delivery.detail
    assert "HTTP 502: nope 502: invalid_payload" in delivery.detail


def test_webhook_does_not_retry_client_errors(receiver: Receiver) -> None:
    receiver.statuses = [400, 200]

    delivery = deliver(ChannelConfig(kind="webhook", url=receiver.url), make_alert())

    assert not delivery.ok
    assert len(receiver.requests) == 1
    assert "HTTP 400: nope 400: invalid_payload" in delivery.detail
    assert "check the url" in delivery.detail


def test_webhook_to_closed_port_fails_quickly_without_raising() -> None:
    channel = ChannelConfig(kind="webhook", url=f"http://127.0.0.1:{free_port()}/hook")

    started = time.monotonic()
    delivery = deliver(channel, make_alert())

    assert time.monotonic() - started < 3
    assert not delivery.ok
    assert "after 3 attempts: could not connect (ConnectError" in delivery.detail
    assert "receiver is up" in delivery.detail


@pytest.mark.parametrize(
    ("url", "expected"),
    [(None, "has no url"), ("hooks.example.com/x", "must start with http:// or https://")],
)
def test_webhook_config_problems_are_reported_not_raised(url: str | None, expected: str) -> None:
    delivery = deliver(ChannelConfig(kind="webhook", url=url), make_alert())

    assert not delivery.ok
    assert expected in delivery.detail


def test_webhook_label_hides_credentials_and_tokens() -> None:
    port = free_port()
    url = f"http://user:pw@127.0.0.1:{port}/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX?x=1#f"

    delivery = deliver(ChannelConfig(kind="webhook", url=url), make_alert())

    assert delivery.channel == f"webhook http://127.0.0.1:{port}/services/T0001/B0001/***"
    assert "pw" not in delivery.detail and "XXXXXXXX" not in delivery.detail


# --- a real SMTP server --------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@dataclass
class Smtp:
    inbox: Inbox
    port: int


def _start_smtp(**kwargs: Any) -> tuple[Controller, Smtp]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, Smtp(inbox, port)


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    controller, server = _start_smtp()
    try:
        yield server
    finally:
        controller.stop()


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"pw")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_with_login() -> Iterator[Smtp]:
    controller, server = _start_smtp(authenticator=_check_login, auth_require_tls=False)
    try:
        yield server
    finally:
        controller.stop()


def email_channel(port: int, **overrides: Any) -> ChannelConfig:
    settings: dict[str, Any] = {
        "kind": "email",
        "to": ["oncall@example.com", "ds@example.com"],
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "sender": "steadyml@example.com",
        "timeout_s": 5,
    }
    settings.update(overrides)
    return ChannelConfig(**settings)


def test_email_is_delivered_with_subject_recipients_and_body(smtp: Smtp) -> None:
    delivery = deliver(email_channel(smtp.port), make_alert(severity="critical"), env={})

    assert delivery == Delivery("email oncall@example.com, ds@example.com", True, "sent")
    [(recipients, message)] = smtp.inbox.messages
    assert recipients == ["oncall@example.com", "ds@example.com"]
    assert message["Subject"] == (
        "[steadyml] CRITICAL churn: monthly_charges drifted: Wasserstein distance 0.31 of a "
        "standard deviation (line: 0.1)"
    )
    assert message["From"] == "steadyml@example.com"
    assert message["To"] == "oncall@example.com, ds@example.com"
    body = message.get_payload(decode=True).decode()
    assert "monthly_charges drifted: Wasserstein distance 0.31" in body
    assert "steadyml alerts ack 12" in body
    assert "window_end: 2026-01-22T00:00:00+00:00" in body
    assert "owner: data-science@example.com" in body


def test_email_logs_in_with_credentials_from_named_variables(smtp_with_login: Smtp) -> None:
    channel = email_channel(
        smtp_with_login.port,
        username_env="ALERT_SMTP_USER",
        password_env="ALERT_SMTP_PASS",
        allow_plaintext_login=True,  # a test relay on 127.0.0.1 without TLS
    )

    good = deliver(
        channel, make_alert(), env={"ALERT_SMTP_USER": "alerts", "ALERT_SMTP_PASS": "pw"}
    )
    bad = deliver(channel, make_alert(), env={"ALERT_SMTP_USER": "alerts", "ALERT_SMTP_PASS": "x"})

    assert good.ok, good.detail
    assert len(smtp_with_login.inbox.messages) == 1
    assert not bad.ok
    assert "refused the login (535)" in bad.detail
    assert "ALERT_SMTP_USER and ALERT_SMTP_PASS" in bad.detail
    assert "x" not in bad.detail.split("(535)")[1].split()


def test_email_refuses_a_login_without_tls_unless_allowed(smtp_with_login: Smtp) -> None:
    channel = email_channel(
        smtp_with_login.port, username_env="ALERT_SMTP_USER", password_env="ALERT_SMTP_PASS"
    )
    env = {"ALERT_SMTP_USER": "alerts", "ALERT_SMTP_PASS": "pw"}

    refused = deliver(channel, make_alert(), env=env)

    assert not refused.ok
    assert "password in clear text" in refused.detail
    assert "starttls: true" in refused.detail and "implicit_tls: true" in refused.detail
    assert "allow_plaintext_login: true" in refused.detail
    assert smtp_with_login.inbox.messages == []  # nothing was sent, the login not tried
    allowed = deliver(channel.model_copy(update={"allow_plaintext_login": True}), make_alert(),
                      env=env)  # fmt: skip
    assert allowed.ok, allowed.detail


def test_email_refuses_implicit_tls_together_with_starttls() -> None:
    channel = email_channel(1, implicit_tls=True, starttls=True)
    delivery = deliver(channel, make_alert(), env={})
    assert not delivery.ok and "implicit_tls: true and starttls: true" in delivery.detail


@pytest.fixture
def tls_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted by this process (SSL_CERT_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def test_email_over_implicit_tls_logs_in_and_sends(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller, server = _start_smtp(
        ssl_context=context, authenticator=_check_login, auth_require_tls=False
    )
    try:
        channel = email_channel(
            server.port, implicit_tls=True, username_env="U", password_env="P"
        )  # no allow_plaintext_login: the login goes over TLS
        delivery = deliver(channel, make_alert(), env={"U": "alerts", "P": "pw"})
        assert delivery.ok, delivery.detail
        assert len(server.inbox.messages) == 1
        # the same server spoken to without TLS: no answer it understands
        plain = deliver(email_channel(server.port, timeout_s=2), make_alert(), env={})
        assert not plain.ok
    finally:
        controller.stop()


def test_email_names_the_missing_environment_variable(smtp: Smtp) -> None:
    channel = email_channel(smtp.port, username_env="ALERT_SMTP_USER", password_env="ALERT_PASS")

    delivery = deliver(channel, make_alert(), env={"ALERT_SMTP_USER": "alerts"})

    assert not delivery.ok
    assert delivery.detail.startswith("Environment variable ALERT_PASS (named by password_env)")
    assert smtp.inbox.messages == []


def test_email_without_recipients_is_a_plain_failure() -> None:
    delivery = deliver(ChannelConfig(kind="email"), make_alert(), env={})

    assert delivery == Delivery(
        "email (no recipients)",
        False,
        "The email channel has no recipients. Add `to: [someone@example.com]` to this channel "
        "in monitoring.channels.",
    )


def test_email_to_unreachable_server_fails_without_raising() -> None:
    delivery = deliver(email_channel(free_port()), make_alert(), env={})

    assert not delivery.ok
    assert "Could not talk to the SMTP server 127.0.0.1:" in delivery.detail
    assert "ConnectionRefusedError" in delivery.detail


# --- the log channel and several channels at once ------------------------------------------


@pytest.mark.parametrize(
    ("severity", "level"),
    [("info", logging.INFO), ("warning", logging.WARNING), ("critical", logging.ERROR)],
)
def test_log_channel_writes_one_line_at_the_severity_level(
    caplog: pytest.LogCaptureFixture, severity: str, level: int
) -> None:
    caplog.set_level(logging.DEBUG, logger="steadyml.alerts")

    delivery = deliver(ChannelConfig(kind="log"), make_alert(severity=severity))

    assert delivery == Delivery("log", True, "sent")
    [record] = caplog.records
    assert record.name == "steadyml.alerts"
    assert record.levelno == level
    assert "\n" not in record.getMessage()
    assert record.getMessage().startswith(f"[{severity.upper()}] churn v1: monthly_charges")
    assert "steadyml alerts ack 12" in record.getMessage()


def test_resolution_notice_is_logged_at_info_without_ack_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="steadyml.alerts")

    deliver(ChannelConfig(kind="log"), make_alert(severity="critical", status="resolved"))

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("[CRITICAL] RESOLVED churn v1:")
    assert "alerts ack" not in record.getMessage()


def test_deliver_all_reports_each_channel_and_continues_past_failures(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("test.channels")
    channels = [
        ChannelConfig(kind="webhook"),
        ChannelConfig(kind="log"),
        ChannelConfig(kind="webhook", url=receiver.url),
    ]

    deliveries = deliver_all(channels, make_alert(), logger=logger)

    assert [d.ok for d in deliveries] == [False, True, True]
    assert [r.name for r in caplog.records] == ["test.channels"]
    assert len(receiver.requests) == 1
