"""``BodyReadTimeout`` watches reads that wait with one timer for the earliest deadline, not a
timer per request: requests that follow one another share it, and requests that began at
different times are each answered 408 at their own deadline."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from steadyml.serving.limits import BodyReadTimeout


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message.get("body", b"")})


def test_each_request_gets_its_own_deadline_and_a_present_body_no_timer() -> None:
    middleware = BodyReadTimeout(_echo, seconds=0.1)
    scope = {"type": "http", "method": "POST", "path": "/v1/predict",
             "headers": [(b"content-length", b"5")]}  # fmt: skip

    async def call(delay: float, arrives: bool, began: float) -> tuple[int, Any, float]:
        await asyncio.sleep(delay)
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if not arrives:
                await asyncio.Event().wait()
            return {"type": "http.request", "body": b"hello", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await middleware(dict(scope), receive, send)
        done = asyncio.get_running_loop().time() - began
        return sent[0]["status"], sent[1]["body"], done

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        assert (await call(0, True, loop.time()))[:2] == (200, b"hello")
        timer = middleware._timer  # armed by the first read that might have waited
        for _ in range(3):
            assert (await call(0, True, loop.time()))[:2] == (200, b"hello")
        assert middleware._timer is timer  # and not one more per request
        began = loop.time()
        first, second, quick = await asyncio.wait_for(
            asyncio.gather(
                call(0, False, began), call(0.05, False, began), call(0.02, True, began)
            ),
            10,
        )
        assert first[0] == second[0] == 408
        assert "did not arrive within 0.1 s" in json.loads(first[1])["error"]
        assert first[2] >= 0.1 - 1e-3
        assert second[2] >= 0.15 - 1e-3  # its own deadline, not the first request's
        assert quick[:2] == (200, b"hello")
        assert not middleware._reading

    asyncio.run(scenario())
