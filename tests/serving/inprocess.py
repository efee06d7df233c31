"""The prediction app in this process: requests go through ``httpx.ASGITransport``, no socket.

``AppClient`` runs an ASGI app on an event loop of its own, in a background thread, with the
app's lifespan entered (so the service's batcher, log writer and store watcher run, as they
do under uvicorn), and offers blocking ``get`` / ``post`` / ``request`` for the tests. The
test's own code stays synchronous and may block (sleep, read the store) while the app keeps
serving, as a real server would. ``AppServer`` is that for a steadyml project, with the same
``root`` / ``keys`` / ``get`` / ``post`` as a live server (``live_server.Server``).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import httpx

import steadyml
from steadyml.serving.app import create_app
from steadyml.serving.settings import ServeSettings

T = TypeVar("T")
URL = "http://test"
TIMEOUT_S = 60.0

#: the settings of an app served in process unless a test passes its own: the defaults, but
#: the store watcher polls every 0.2 s (not 1 s) and answered records are gathered for 0.2 s
#: (not 1 s) before they are logged, so a test waits less for a change or for the log
QUICK = ServeSettings(poll_seconds=0.2, log_chunk_ms=200.0)


class AppClient:
    """An ASGI app served on its own event loop; blocking calls from the test's thread."""

    url = URL

    def __init__(self, app: Any) -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._lifespan: AbstractAsyncContextManager[Any] | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> AppClient:
        """Enter the app's lifespan (its startup), then open the client."""
        lifespan = self.app.router.lifespan_context(self.app)
        self._run(lifespan.__aenter__())
        self._lifespan = lifespan
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url=URL, timeout=TIMEOUT_S)
        return self

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._client is None:
            raise RuntimeError("call start() first")
        return self._run(self._client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def stop(self) -> None:
        """Leave the lifespan (the app's shutdown: drains), then stop the loop."""
        try:
            if self._client is not None:
                self._run(self._client.aclose())
            if self._lifespan is not None:
                self._run(self._lifespan.__aexit__(None, None, None))
        finally:
            self._client = self._lifespan = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(TIMEOUT_S)
            self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT_S)


class AppServer(AppClient):
    """``create_app(project)`` for the project at ``root``, served in process."""

    def __init__(self, root: Path, keys: dict[str, str], settings: ServeSettings | None = None):
        self.root = root
        self.keys = keys
        self.project = steadyml.open(root, env={})
        try:
            super().__init__(create_app(self.project, settings or QUICK))
        except BaseException:
            self.project.close()
            raise

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.project.close()
            # the service froze the garbage collector's view of this process (gc.freeze):
            # give the test process its collections back
            gc.unfreeze()


AppMaker = Callable[..., AppServer]
"""The ``make_server(serving_yaml="", settings=None)`` fixture."""


def start_app(root: Path, keys: dict[str, str], settings: ServeSettings | None = None) -> AppServer:
    server = AppServer(root, keys, settings)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
