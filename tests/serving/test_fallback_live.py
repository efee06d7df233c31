"""The fallback answers when the model is too slow, and says so: response, log, metrics."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
from live_server import start_server

import steadyml


def _server_with(tmp_path: Path, template: Path, serving_yaml: str):  # type: ignore[no-untyped-def]
    root = tmp_path / "churn"
    shutil.copytree(template, root)
    cfg = root / "steadyml.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + serving_yaml, encoding="utf-8")
    keys = dict(line.split("=", 1) for line in (root / "keys.txt").read_text().splitlines())
    return start_server(root, keys)


def _record(root: Path) -> dict:  # type: ignore[type-arg]
    with steadyml.open(root, env={}) as project:
        row = project.load_snapshot(1).drop(columns=["churned", "cancellation_reason"]).iloc[0]
    rec = {k: (None if v != v else v) for k, v in row.to_dict().items()}
    rec["snapshot_month"] = str(rec["snapshot_month"])
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}


def test_a_slow_model_gets_the_constant_fallback_flagged_everywhere(
    serving_template: Path, tmp_path: Path
) -> None:
    srv = _server_with(tmp_path, serving_template,
                       "\nserving:\n  fallback: {strategy: constant, value: 0, timeout_ms: 0.2}\n")  # fmt: skip
    try:
        res = httpx.post(f"{srv.url}/v1/predict", json={"records": [_record(srv.root)]},
                         headers={"X-API-Key": srv.keys["predict"]}, timeout=30)  # fmt: skip
        assert res.status_code == 200, res.text
        (answer,) = res.json()["results"]
        assert answer["fallback"] is True and answer["prediction"] == 0
        assert "timed out" in answer["fallback_reason"]
        metrics = httpx.get(f"{srv.url}/metrics").text
        assert 'steadyml_fallbacks_total{reason="timeout"} 1.0' in metrics
        deadline = time.monotonic() + 15
        logged = []
        with steadyml.open(srv.root, env={}) as project:
            while time.monotonic() < deadline and not logged:
                logged = project.store.list_predictions(request_ids=[answer["request_id"]])
                time.sleep(0.2)
        assert logged and logged[0].fallback is True
        assert "timed out" in (logged[0].error or "")
    finally:
        srv.stop()


def test_without_a_fallback_a_slow_model_is_a_clear_503(
    serving_template: Path, tmp_path: Path
) -> None:
    srv = _server_with(tmp_path, serving_template,
                       "\nserving:\n  fallback: {strategy: error, timeout_ms: 0.2}\n")  # fmt: skip
    try:
        res = httpx.post(f"{srv.url}/v1/predict", json={"records": [_record(srv.root)]},
                         headers={"X-API-Key": srv.keys["predict"]}, timeout=30)  # fmt: skip
        assert res.status_code == 503
        body = res.json()
        assert body["ok"] is False and "no fallback is configured" in body["error"]
        assert body["request_id"]
    finally:
        srv.stop()
