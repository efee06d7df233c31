"""Live changes under load on a real server: canary, shadow, promotion, SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

import steadyml

Server = Any  # the fixture type lives in conftest.py


def churn_records(server: Server, n: int, start: int = 0) -> list[dict[str, Any]]:
    with steadyml.open(server.root, env={}) as project:
        frame = project.load_snapshot(1).iloc[start : start + n]
    frame = frame.drop(columns=["churned", "cancellation_reason"])
    frame["snapshot_month"] = frame["snapshot_month"].astype(str)
    return [
        {k: (None if v != v else v) for k, v in row.items()}  # NaN -> None
        for row in frame.to_dict(orient="records")
    ]


def predict(server: Server, recs: list[dict[str, Any]], *, close: bool = False) -> httpx.Response:
    headers = {"X-API-Key": server.keys["predict"]}
    if close:
        headers["Connection"] = "close"
    return httpx.post(f"{server.url}/v1/predict", json={"records": recs}, headers=headers,
                      timeout=30)  # fmt: skip


def test_canary_share_is_within_tolerance_and_sticky(fresh_server: Server) -> None:
    with steadyml.open(fresh_server.root, env={}) as project:
        project.set_traffic("canary", challenger=2, percent=20, sticky_by="customer_id",
                            reason="try v2 on a fifth")  # fmt: skip
    recs = churn_records(fresh_server, 600)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait for the server to pick the policy up
        if httpx.get(f"{fresh_server.url}/v1/model").json()["traffic"]["mode"] == "canary":
            break
        time.sleep(0.2)
    routes: dict[str, str] = {}
    for i in range(0, 600, 100):
        for rec, res in zip(recs[i : i + 100], predict(fresh_server, recs[i : i + 100]).json()
                            ["results"], strict=True):  # fmt: skip
            assert res["route"] in ("live", "canary")
            assert res["model_version"] == (2 if res["route"] == "canary" else 1)
            previous = routes.setdefault(rec["customer_id"], res["route"])
            assert previous == res["route"]  # the same customer always gets the same model
    share = sum(1 for r in routes.values() if r == "canary") / len(routes)
    assert 0.12 <= share <= 0.28, share


def test_shadow_answers_are_logged_but_never_returned(fresh_server: Server) -> None:
    with steadyml.open(fresh_server.root, env={}) as project:
        project.set_traffic("shadow", challenger=2, reason="compare quietly")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if httpx.get(f"{fresh_server.url}/v1/model").json()["traffic"]["mode"] == "shadow":
            break
        time.sleep(0.2)
    ids = []
    for i in range(5):
        body = predict(fresh_server, churn_records(fresh_server, 20, start=20 * i)).json()
        assert {(r["route"], r["model_version"]) for r in body["results"]} == {("live", 1)}
        ids += [r["request_id"] for r in body["results"]]
    deadline = time.monotonic() + 15
    shadow = []
    with steadyml.open(fresh_server.root, env={}) as project:
        while time.monotonic() < deadline:
            logged = project.store.list_predictions(limit=10_000, request_ids=ids)
            shadow = [p for p in logged if p.route == "shadow"]
            if len(shadow) == len(ids):
                break
            time.sleep(0.3)
    assert len(shadow) == len(ids)
    assert {p.model_version for p in shadow} == {2}


def _load(server: Server, stop: threading.Event, results: list[tuple[str, Any]],
          recs: list[dict[str, Any]], limit: int = 2000) -> None:  # fmt: skip
    i = 0
    while not stop.is_set() and i < limit:
        try:
            res = predict(server, [recs[i % len(recs)]], close=True)
            results.append(("response", res))
        except httpx.ConnectError:
            results.append(("refused", None))  # not accepted: the server is stopping
            time.sleep(0.05)
        except httpx.RemoteProtocolError as exc:
            if "without sending complete" not in str(exc):
                # The kernel finished the handshake while the server was closing its listening
                # socket: the connection is reset before the application ever read the request.
                # Nothing was answered, so nothing can be missing from the log (a client retries).
                results.append(("unread", exc))
            else:
                results.append(("broken", exc))  # an answer cut off mid-way
        except (httpx.ReadError, httpx.WriteError) as exc:
            # reset before any byte of an answer arrived: the same unread case as above
            results.append(("unread", exc))
        except httpx.HTTPError as exc:
            results.append(("broken", exc))  # an accepted request that failed mid-way
        i += 1


def test_promotion_and_rollback_under_load_fail_no_request(fresh_server: Server) -> None:
    recs = churn_records(fresh_server, 50)
    stop = threading.Event()
    results: list[tuple[str, Any]] = []
    threads = [threading.Thread(target=_load, args=(fresh_server, stop, results, recs))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    time.sleep(1.0)
    with steadyml.open(fresh_server.root, env={}) as project:
        project.promote(2, "production", reason="under load", by="test")
    promoted_at = time.monotonic()
    first_v2 = None
    while time.monotonic() - promoted_at < 10:
        if httpx.get(f"{fresh_server.url}/ready").json().get("model_version") == 2:
            first_v2 = time.monotonic() - promoted_at
            break
        time.sleep(0.1)
    time.sleep(1.0)
    with steadyml.open(fresh_server.root, env={}) as project:
        project.rollback(reason="back again", by="test")
    time.sleep(2.5)
    stop.set()
    for t in threads:
        t.join(60)
    statuses = [r.status_code for kind, r in results if kind == "response"]
    assert len(statuses) > 20
    assert [k for k, _ in results if k != "response"] == []
    assert set(statuses) == {200}
    assert first_v2 is not None and first_v2 <= 5.0
    versions = [r.json()["model_version"] for kind, r in results if kind == "response"]
    assert 2 in versions and versions[-1] == 1


def test_sigterm_during_load_loses_nothing(fresh_server: Server) -> None:
    recs = churn_records(fresh_server, 50)
    stop = threading.Event()
    results: list[tuple[str, Any]] = []
    threads = [threading.Thread(target=_load, args=(fresh_server, stop, results, recs, 400))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    time.sleep(1.5)
    code = fresh_server.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join(60)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why
    assert code in (0, -signal.SIGTERM), fresh_server.output()
    assert "Traceback" not in fresh_server.output()
    answered = [r for kind, r in results if kind == "response"]
    assert answered and all(r.status_code == 200 for r in answered)
    assert [(k, e) for k, e in results if k == "broken"] == []
    unread = [e for k, e in results if k == "unread"]
    assert len(unread) <= 4, unread  # at most one in-flight connection per client thread
    ids = [res["request_id"] for r in answered for res in r.json()["results"]]
    with steadyml.open(fresh_server.root, env={}) as project:
        logged = {p.request_id for p in project.store.list_predictions(limit=100_000)}
    missing = set(ids) - logged
    assert not missing, f"{len(missing)} answered predictions are not in the log"


def test_serve_refuses_a_public_address_without_auth(serving_template, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    root = tmp_path / "p"
    shutil.copytree(serving_template, root)
    cfg = root / "steadyml.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nserving:\n  auth: none\n",
                   encoding="utf-8")  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "steadyml", "--project", str(root), "serve", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "Refusing to serve without API keys on 0.0.0.0" in proc.stderr
    assert "--insecure" in proc.stderr
