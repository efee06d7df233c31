"""The batcher times requests out with one timer for the oldest unanswered request, not a
timer per request: each request still gets its own deadline, and answered requests are let go
at once."""

from __future__ import annotations

import asyncio
import threading

import pandas as pd

from steadyml.serving.batcher import BatchTimeout, MicroBatcher, ScoreOutput


def test_each_request_times_out_at_its_own_deadline_and_nothing_is_held() -> None:
    gate = threading.Event()

    def blocked(frame: pd.DataFrame) -> ScoreOutput:
        gate.wait(10)
        return ScoreOutput(predictions=[0] * len(frame), scores=[0.0] * len(frame))

    def quick(frame: pd.DataFrame) -> ScoreOutput:
        return ScoreOutput(predictions=[1] * len(frame), scores=[1.0] * len(frame))

    frame = pd.DataFrame({"x": [1]})

    async def scenario() -> None:
        batcher = MicroBatcher(timeout_ms=100, max_wait_ms=0)
        await batcher.start()
        loop = asyncio.get_running_loop()
        began = loop.time()

        async def timed_out_at(delay: float) -> float:
            await asyncio.sleep(delay)
            try:
                await batcher.submit("m", blocked, frame)
            except BatchTimeout:
                return loop.time() - began
            raise AssertionError("answered although the model was blocked")

        first, second = await asyncio.wait_for(
            asyncio.gather(timed_out_at(0.0), timed_out_at(0.06)), 10
        )
        assert first >= 0.1 - 1e-3
        assert second >= 0.16 - 1e-3  # its own deadline, not the first request's
        gate.set()
        await asyncio.sleep(0.05)
        answers = await asyncio.gather(*(batcher.submit("n", quick, frame) for _ in range(5)))
        assert [a.predictions for a in answers] == [[1]] * 5
        assert not batcher._by_deadline  # answered requests are not held until the timer
        assert batcher.stats["timeouts"] == 2
        await batcher.stop()

    asyncio.run(scenario())
