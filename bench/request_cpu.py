"""Benchmark: the CPU one ``POST /v1/predict`` costs inside the app, against the framework floor.

No HTTP: each side's ASGI app is called directly in this process (uvicorn's own share, the
same for both sides, is left out), ``--concurrency`` callers at once each sending one
request after another, until ``--requests`` requests are answered. What is measured is the
process's CPU time (``time.process_time``: every thread, the prediction log's writer
included) per request, so other processes on a busy machine matter less than for a
throughput figure; the clock stops once the prediction log has written every answer.

Sides, A B A B over ``--rounds`` rounds:

* **steadyml**: the app as ``steadyml serve --no-auth`` builds it (``create_app`` with the
  CLI's settings, logging on), its lifespan entered, on a fresh copy of ``bench/serving.py``'s
  cached churn project (``prepare``: trained and promoted once, then reused);
* **floor**: ``bench/serving.py``'s framework floor (FastAPI parsing the same body with a
  pydantic model of the records and answering a constant; ``floor_app``).

Each request is one record (``--records`` to change), the same body for both sides. Every
answer must be a 200; the script stops otherwise. Run from the repository root::

    .venv/bin/python bench/request_cpu.py                      # 10,000 requests, c=32, 3 rounds
    .venv/bin/python bench/request_cpu.py --requests 20000 --profile out.prof  # + cProfile
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

Asgi = Callable[..., Any]


def floor_app(records: list[dict[str, Any]]) -> Any:
    """``bench/serving.py``'s framework floor, as an app (its ``serve_floor`` runs it)."""
    from fastapi import FastAPI
    from pydantic import create_model

    kinds = {bool: bool, int: int, float: float, str: str}

    def typed(values: list[Any]) -> Any:
        seen = {kinds.get(type(v), str) for v in values if v is not None}
        kind: Any = float if seen == {int, float} else (seen.pop() if len(seen) == 1 else str)
        return kind | None if any(v is None for v in values) else kind

    fields: dict[str, Any] = {
        name: (typed([r.get(name) for r in records]), ...) for name in records[0]
    }
    record = create_model("Record", **fields)
    body = create_model("Body", records=(list[record], ...))  # type: ignore[valid-type]
    app = FastAPI()

    async def predict(request: Any) -> dict[str, Any]:
        return {"ok": True, "results": [{"prediction": 0, "score": 0.5}] * len(request.records)}

    predict.__annotations__ = {"request": body, "return": dict[str, Any]}
    app.add_api_route("/v1/predict", predict, methods=["POST"])
    return app


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/predict",
        "raw_path": b"/v1/predict",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"wrk"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _one(app: Asgi, body: bytes) -> tuple[int, bytes]:
    """One request through ``app`` as uvicorn would call it; (status, body)."""
    sent = False
    status = 0
    chunks: list[bytes] = []
    never = asyncio.get_running_loop().create_future()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never  # the client stays connected: a later receive waits (as uvicorn's does)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(_scope(body), receive, send)
    never.cancel()
    return status, b"".join(chunks)


async def _logged(app: Asgi) -> None:
    """Wait until the app's prediction log has written every answer (the writer thread's
    work is part of a request's cost); the floor logs nothing."""
    service = getattr(getattr(app, "state", None), "service", None)
    while service is not None and service.writer.pending():
        await asyncio.sleep(0.01)


async def _drive(app: Asgi, body: bytes, requests: int, concurrency: int) -> float:
    """CPU seconds (this process) for ``requests`` requests at ``concurrency``, the writing
    of their log included."""
    left = requests

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            status, answer = await _one(app, body)
            if status != 200:
                raise SystemExit(f"answered {status}: {answer[:300]!r}")

    await _logged(app)
    began = time.process_time()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    await _logged(app)
    return time.process_time() - began


class Side:
    """One app, its lifespan entered on the running loop."""

    def __init__(self, name: str, app: Any) -> None:
        self.name = name
        self.app = app
        self._lifespan: Any = None

    async def __aenter__(self) -> Side:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._lifespan.__aexit__(None, None, None)


def steadyml_app(project_dir: Path, *, log: bool = True) -> Any:
    """The app as ``steadyml serve --no-auth`` (logging on) builds it for ``project_dir``."""
    from steadyml.project import open_project
    from steadyml.serving.__main__ import parse
    from steadyml.serving.app import create_app

    argv = ["--project", str(project_dir), "--no-auth", "--log-level", "warning"]
    _, settings = parse(argv + ([] if log else ["--no-log"]))
    return create_app(open_project(project_dir), settings)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from serving import prepare  # bench/serving.py: the cached, trained churn project

    info = prepare(retrain=False)
    records = json.loads(Path(info["records"]).read_text())
    body = json.dumps({"records": records[: args.records]}).encode()
    work = Path(tempfile.mkdtemp(prefix="steadyml-request-cpu-"))
    try:
        shutil.copytree(info["project"], work / "churn")
        ours = steadyml_app(work / "churn", log=not args.no_log)
        sides = [Side("steadyml", ours), Side("floor", floor_app(records))]
        per: dict[str, list[float]] = {s.name: [] for s in sides}
        profiler = None
        for side in sides:
            async with side:
                await _drive(side.app, body, min(args.requests, 500), args.concurrency)  # warm
        for rnd in range(args.rounds):
            for side in sides:
                async with side:
                    await _drive(side.app, body, 300, args.concurrency)  # warm after start
                    if args.profile and side.name == "steadyml" and rnd == args.rounds - 1:
                        import cProfile

                        profiler = cProfile.Profile()
                        profiler.enable()
                    cpu = await _drive(side.app, body, args.requests, args.concurrency)
                    if profiler is not None and side.name == "steadyml":
                        profiler.disable()
                per[side.name].append(cpu / args.requests * 1e6)
                print(f"round {rnd + 1}  {side.name:9s} {per[side.name][-1]:7.1f} µs CPU/request",
                      file=sys.stderr, flush=True)  # fmt: skip
        if profiler is not None:
            profiler.dump_stats(args.profile)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {name: statistics.median(v) for name, v in per.items()}
    return {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "records": args.records,
        "us_per_request": per,
        "median_us": med,
        "ratio": med["steadyml"] / med["floor"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--records", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", metavar="FILE", help="cProfile steadyml's last round")
    parser.add_argument("--no-log", action="store_true", help="steadyml with --no-log")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(run(args))
    if args.json:
        print(json.dumps(out))
        return
    med = out["median_us"]
    print(f"{out['requests']:,} requests of {out['records']} record(s) at c={out['concurrency']}, "
          f"CPU per request (median of {len(out['us_per_request']['floor'])} rounds):")  # fmt: skip
    print(f"  steadyml {med['steadyml']:7.1f} µs   floor {med['floor']:7.1f} µs   "
          f"ratio {out['ratio']:.2f}×")  # fmt: skip


if __name__ == "__main__":
    main()
