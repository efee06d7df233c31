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
