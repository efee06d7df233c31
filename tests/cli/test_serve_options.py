"""``steadyml serve``'s edge options (issue 12): who may read the service's description, and
how long a request body may take to arrive."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

Invoke = Callable[..., Result]  # the ``invoke`` fixture of conftest.py


def test_info_auth_must_be_one_of_its_modes(invoke: Invoke) -> None:
    result = invoke("serve", "--info-auth", "maybe")
    assert result.exit_code == 1
    assert "--info-auth" in result.output
    assert "auto, api_key, none; got 'maybe'" in result.output


def test_serve_help_lists_the_edge_options(invoke: Invoke) -> None:
    result = invoke("serve", "--help")
    assert result.exit_code == 0
    assert "--info-auth" in result.output and "--body-timeout" in result.output


def test_outage_options_reach_the_server_settings(invoke: Invoke) -> None:
    import pytest

    from steadyml.serving.__main__ import parse

    help_text = " ".join(invoke("serve", "--help").output.split())
    assert "--key-grace-seconds" in help_text and "--log-buffer-rows" in help_text
    _, settings = parse(
        ["--project", "p", "--key-grace-seconds", "42", "--log-buffer-rows", "5000"]
    )
    assert (settings.key_grace_seconds, settings.log_buffer_rows) == (42.0, 5000)
    with pytest.raises(SystemExit) as bad:
        parse(["--project", "p", "--log-buffer-rows", "0"])
    assert bad.value.code == 2
    refused = invoke("serve", "--log-buffer-rows", "10")
    assert refused.exit_code == 2 and "--log-buffer-rows" in refused.output
