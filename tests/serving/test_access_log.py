"""uvicorn's line per request is off unless asked for (``--access-log``): every answer is in
the prediction log and counted in /metrics, and the line costs a busy server about 9 % of its
time (py-spy, 1 record at c=32)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import churn_records, copy_project, read_keys
from live_server import start_server

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("asked", [False, True], ids=["default", "access-log"])
def test_the_access_log_is_written_only_when_asked(
    serving_template: Path, tmp_path: Path, asked: bool
) -> None:
    root = copy_project(serving_template, tmp_path / "p")
    extra = ["--log-level", "info", *(["--access-log"] if asked else [])]
    server = start_server(root, read_keys(root), *extra)
    try:
        records = churn_records(root, 1)
        answer = server.post(
            "/v1/predict", json={"records": records}, headers={"X-API-Key": server.keys["predict"]}
        )
        assert answer.status_code == 200
    finally:
        server.stop()
    assert ('"POST /v1/predict HTTP/1.1" 200' in server.output()) is asked
