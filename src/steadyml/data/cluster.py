"""A Dask client for the engines that run on a cluster (batch scoring, the monitor): the
scheduler at an address, or a local cluster of threads when none is given. One place, below
``batch`` and ``monitoring``, which as siblings cannot import each other."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from steadyml.errors import MissingExtraError, SteadyMLError

__all__ = ["LOCAL_WORKERS", "dask_client"]

LOCAL_WORKERS = 2  # workers of the local cluster used when no scheduler is given


@contextlib.contextmanager
def dask_client(scheduler: str | None) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MissingExtraError(
            "The Dask engine needs dask.distributed, which is not installed.",
            hint="pip install 'steadyml[dask]'",
        ) from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise SteadyMLError(
                f"Cannot reach the Dask scheduler at {scheduler} ({exc}).",
                hint="Check the address (tcp://HOST:8786) and that the scheduler is running, "
                "or give no scheduler to use a local cluster.",
                field="scheduler",
            ) from exc
        with client:
            yield client
        return
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=LOCAL_WORKERS,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client
