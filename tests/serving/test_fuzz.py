"""schemathesis against the live server's /openapi.json: no request makes it answer 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

Server = Any  # the fixture type lives in conftest.py


@pytest.mark.slow  # hundreds of generated requests to a real process
def test_no_generated_request_gets_a_5xx(live_server: Server) -> None:
    server = live_server
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"X-API-Key": server.keys["admin"]}
    seen: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any(op.path == "/v1/predict" for op in operations)
    cases = [
        (op, mode)
        for op in operations
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    ]
    for op, mode in cases:

        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=op.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url=server.url, headers=headers)
            method = kwargs.pop("method")
            url = kwargs.pop("url")
            kwargs.pop("cookies", None)
            response = httpx.request(method, url, timeout=30, **{
                k: v for k, v in kwargs.items() if k in ("headers", "params", "json", "content")
            })  # fmt: skip
            seen.append(response.status_code)
            assert response.status_code < 500, (
                f"{method} {url} -> {response.status_code}: {response.text[:500]}\n"
                f"sent: {str(kwargs)[:1500]}\nserver log (end):\n{server.output()[-3000:]}"
            )
            if response.status_code >= 400:
                body = response.json()
                assert body["ok"] is False and isinstance(body["error"], str)

        try:
            check()
        except Unsatisfiable:
            # an operation with no inputs has no invalid request to generate
            assert mode == schemathesis.GenerationMode.NEGATIVE
    assert 200 in seen and 422 in seen  # it reached the handlers and the validation
