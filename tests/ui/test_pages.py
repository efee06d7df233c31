"""The dashboard in process: every page's content, the locally served Plotly, and who may act.

A real project (trained twice, v1 in production, batch predictions measured by the real
monitor so its windows are stored, two alerts) behind ``create_ui_app``; requests go through
``httpx.ASGITransport``. What an action changed is read back through ``Project``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ui_helpers import PAGES, InProcess, csrf_of, flashes

import steadyml
from steadyml.serving.ui.app import plotly_js_name


def sign_in(ui: InProcess, root: Path, key: str = "admin") -> str:
    token = dict(line.split("=", 1) for line in (root / "keys.txt").read_text().splitlines())[key]
    r = ui.post("/login", data={"key": token, "next": "/models"})
    assert r.status_code == 303, r.text
    return csrf_of(ui.get("/models").text)


def foreign_references(page: str) -> list[str]:
    """Every src / href / action that names a scheme and host (nothing may)."""
    return re.findall(r'(?:src|href|action)="((?:[a-z]+:)?//[^"]*)"', page)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_from_this_server_only(ui: InProcess, path: str) -> None:
    r = ui.get(path)
    assert r.status_code == 200, r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    assert foreign_references(r.text) == []
    assert '<link rel="stylesheet" href="/static/ui.css">' in r.text
    assert "Sign in to act" in r.text  # read only without a key
    assert 'aria-current="page"' in r.text


def test_overview_shows_plan_production_traffic_health_and_incidents(ui: InProcess) -> None:
    page = ui.get("/").text
    assert "Reduce voluntary churn" in page or "<dt>Problem</dt>" in page
    assert "version 1" in page
    assert re.search(r"in production for (under a minute|\d+ minutes?) \(since", page)
    assert "production only" in page
    for tile in ("Predictions", "p95 latency", "Error rate", "Fallback rate"):
        assert tile in page, tile
    assert "waiting for labels" in page  # no labels yet: not a zero
    assert "performance drop: roc_auc fell" in page  # the open incidents
    assert "No stored monitor windows yet" not in page


def test_data_page_shows_contract_checks_and_versions(ui: InProcess) -> None:
    page = ui.get("/data").text
    assert "<code>tenure_months</code>" in page
    assert "Dataset versions and lineage" in page and '<th scope="row">v1</th>' in page


def test_runs_are_paged_filtered_and_compared_diff_first(ui: InProcess) -> None:
    page = ui.get("/runs").text
    assert re.findall(r'<tr data-run="(\d+)"', page) == ["2", "1"]  # newest first
    assert "1–2 of 2" in page
    one = ui.get("/runs", params={"status": "failed"}).text
    assert "No run matches these filters" in one
    diff = ui.get("/runs", params={"a": "1", "b": "2"}).text
    assert diff.index("What changed from run 1 to run 2") < diff.index("What improved")
    missing = ui.get("/runs", params={"a": "1", "b": "99"}).text
    assert "has no run 99" in missing


def test_models_page_shows_versions_lineage_and_the_card(ui: InProcess) -> None:
    page = ui.get("/models", params={"version": "2"}).text
    assert re.findall(r'<tr data-version="(\d+)"', page) == ["2", "1"]
    chain = page.split('class="chain"', 1)[1].split("</ol>", 1)[0]
    for link in ("model_version: 2", "model v2", "run 2", "data v1", "code"):
        assert link in chain, link
    card = ui.get("/models/2/card")
    assert card.status_code == 200 and "<html" in card.text
    assert ui.get("/models/99/card").status_code == 404


def test_monitoring_page_draws_stored_windows_with_histograms(ui: InProcess) -> None:
    page = ui.get("/monitoring").text
    assert f'<script src="/static/{plotly_js_name()}"></script>' in page
    assert page.count("Plotly.newPlot") >= 6  # over time, and one histogram per feature
    assert '<table id="drift">' in page and 'data-feature="tenure_months"' in page
    assert "waiting for labels" in page


def test_monitoring_without_stored_windows_says_what_to_run(trained_project_dir: Path) -> None:
    from steadyml.serving.ui import create_ui_app

    with steadyml.open(trained_project_dir, env={}) as project:
        client = InProcess(create_ui_app(project))
        try:
            page = client.get("/monitoring").text
            overview = client.get("/").text
        finally:
            client.close()
    assert "No stored windows yet" in page and "steadyml monitor" in page
    assert "Plotly" not in page
    assert "No stored monitor windows yet" in overview


def test_alerts_page_lists_incidents_and_shows_history(ui: InProcess) -> None:
    page = ui.get("/alerts").text
    ids = re.findall(r'<tr data-alert="(\d+)" data-status="open"', page)
    assert len(ids) >= 2 and ids == sorted(ids, key=int, reverse=True)  # newest first
    one = ui.get("/alerts", params={"alert": ids[0]}).text
    assert '<table id="history">' in one and "opened" in one


def test_plotly_is_served_locally_and_cached_for_a_year(ui: InProcess) -> None:
    r = ui.get(f"/static/{plotly_js_name()}")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert ui.get("/static/plotly-0.0.0.min.js").status_code == 404


ACTIONS = (
    ("/models/2/promote", {"reason": "better", "stage": "production"}),
    ("/models/rollback", {"reason": "worse"}),
    ("/alerts/1/acknowledge", {"note": "on it"}),
    ("/alerts/1/resolve", {"note": "fixed"}),
    ("/rollout/abort", {"reason": "stop"}),
    ("/logout", {}),
)


@pytest.mark.parametrize(("path", "form"), ACTIONS)
def test_every_action_without_a_key_is_refused_and_changes_nothing(
    ui: InProcess, ui_root: Path, path: str, form: dict[str, str]
) -> None:
    r = ui.post(path, data={**form, "csrf": "guess"})
    assert r.status_code == 401
    assert "admin scope" in r.text
    with steadyml.open(ui_root, env={}) as project:
        assert project.production().version == 1  # type: ignore[union-attr]
        assert project.alert(1).status == "open"


def test_only_an_admin_key_signs_in(ui: InProcess, ui_root: Path) -> None:
    r = ui.post("/login", data={"key": "sml_nothing"})
    assert r.status_code == 401 and "is not valid" in r.text
    keys = dict(line.split("=", 1) for line in (ui_root / "keys.txt").read_text().splitlines())
    r = ui.post("/login", data={"key": keys["predict"]})
    assert r.status_code == 403 and "admin" in r.text
    assert "steadyml_ui" not in ui.client.cookies


def test_the_session_cookie_is_httponly_and_samesite_strict(ui: InProcess, ui_root: Path) -> None:
    keys = dict(line.split("=", 1) for line in (ui_root / "keys.txt").read_text().splitlines())
    r = ui.post("/login", data={"key": keys["admin"]})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert keys["admin"] not in r.headers["set-cookie"]  # only a session id


def test_a_missing_or_wrong_csrf_token_is_refused(ui: InProcess, ui_root: Path) -> None:
    sign_in(ui, ui_root)
    for token in (None, "wrong"):
        data = {"reason": "sneaky"} | ({"csrf": token} if token else {})
        r = ui.post("/models/2/promote", data=data)
        assert r.status_code == 403 and "token" in r.text
    with steadyml.open(ui_root, env={}) as project:
        assert project.production().version == 1  # type: ignore[union-attr]


def test_a_post_from_another_origin_is_refused(ui: InProcess, ui_root: Path) -> None:
    csrf = sign_in(ui, ui_root)
    form = {"reason": "x", "csrf": csrf}
    r = ui.post("/models/rollback", data=form, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "another site" in r.text
    r = ui.post("/models/rollback", data=form, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    with steadyml.open(ui_root, env={}) as project:
        assert len(project.deployment_events()) == 1  # only the first promotion


def test_promote_and_rollback_are_recorded_with_who_and_why(ui: InProcess, ui_root: Path) -> None:
    csrf = sign_in(ui, ui_root)
    r = ui.post("/models/2/promote", data={"reason": "better recall", "csrf": csrf,
                                           "stage": "production"}, follow_redirects=True)  # fmt: skip
    assert "Version 2 is now in production." in flashes(r.text)
    r = ui.post("/models/rollback", data={"reason": "calls went up", "csrf": csrf},
                follow_redirects=True)  # fmt: skip
    assert any("Rolled back: version 1" in f for f in flashes(r.text))
    with steadyml.open(ui_root, env={}) as project:
        assert project.production().version == 1  # type: ignore[union-attr]
        events = project.deployment_events()
    assert [(e.action, e.to_version, e.reason, e.by) for e in events[-2:]] == [
        ("promote", 2, "better recall", "ops (dashboard)"),
        ("rollback", 1, "calls went up", "ops (dashboard)"),
    ]


def test_a_refused_action_says_why_on_the_page(ui: InProcess, ui_root: Path) -> None:
    csrf = sign_in(ui, ui_root)
    r = ui.post("/models/2/promote", data={"reason": "", "csrf": csrf}, follow_redirects=True)
    assert r.status_code == 200
    assert any("reason" in f.lower() for f in flashes(r.text))


def test_acknowledge_then_resolve_keeps_the_history(ui: InProcess, ui_root: Path) -> None:
    csrf = sign_in(ui, ui_root)
    ui.post("/alerts/1/acknowledge", data={"note": "looking", "csrf": csrf})
    r = ui.post("/alerts/1/resolve", data={"note": "", "csrf": csrf}, follow_redirects=True)
    assert any("needs a note" in f for f in flashes(r.text))
    r = ui.post("/alerts/1/resolve", data={"note": "retrained", "csrf": csrf},
                follow_redirects=True)  # fmt: skip
    assert "Alert 1 resolved." in flashes(r.text)
    with steadyml.open(ui_root, env={}) as project:
        alert = project.alert(1)
    assert alert.status == "resolved"
    assert [(h.event, h.by, h.note) for h in alert.history][-2:] == [
        ("acknowledged", "ops (dashboard)", "looking"),
        ("resolved", "ops (dashboard)", "retrained"),
    ]


def test_a_key_revoked_after_signing_in_stops_working(ui: InProcess, ui_root: Path) -> None:
    csrf = sign_in(ui, ui_root)
    with steadyml.open(ui_root, env={}) as project:
        admin = next(k for k in project.api_keys() if k.name == "ops")
        project.revoke_key(admin.id)
    import time

    time.sleep(2.1)  # the key cache's time to live
    r = ui.post("/models/rollback", data={"reason": "x", "csrf": csrf})
    assert r.status_code == 401 and "revoked" in r.text


def test_serve_ui_mounts_the_same_pages_at_ui(ui_root: Path) -> None:
    from steadyml.serving.app import create_app
    from steadyml.serving.settings import ServeSettings

    with steadyml.open(ui_root, env={}) as project:
        client = InProcess(create_app(project, ServeSettings(ui=True)))
        try:
            page = client.get("/ui/").text
            runs = client.get("/ui/runs")
            css = client.get("/ui/static/ui.css")
        finally:
            client.close()
    assert 'href="/ui/data"' in page and 'href="/ui/static/ui.css"' in page
    assert runs.status_code == 200 and css.status_code == 200


def test_serve_ui_off_loopback_asks_a_sign_in_before_any_page(ui_root: Path) -> None:
    from steadyml.serving.app import create_app
    from steadyml.serving.settings import ServeSettings

    with steadyml.open(ui_root, env={}) as project:
        client = InProcess(create_app(project, ServeSettings(ui=True, host="0.0.0.0")))
        try:
            r = client.get("/ui/models")
            login = client.get("/ui/login")
        finally:
            client.close()
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login?next=")
    assert login.status_code == 200


def test_rollout_page_shows_the_candidate_and_pause_abort_work(
    ui: InProcess, ui_root: Path
) -> None:
    with steadyml.open(ui_root, env={}) as project:
        project.start_rollout(2, reason="a better recall", by="tests")
    page = ui.get("/rollout").text
    assert "version 2 against production 1" in page and "running" in page
    assert "Decision record" in page
    csrf = sign_in(ui, ui_root)
    page = ui.get("/rollout").text
    for button in ("Advance to the next step", "Pause the rollout", "Abort: production"):
        assert button in page, button
    r = ui.post("/rollout/pause", data={"reason": "a look first", "csrf": csrf},
                follow_redirects=True)  # fmt: skip
    assert any("paused" in f for f in flashes(r.text)), flashes(r.text)
    r = ui.post("/rollout/abort", data={"reason": "not now", "csrf": csrf},
                follow_redirects=True)  # fmt: skip
    assert any("aborted" in f for f in flashes(r.text)), flashes(r.text)
    r = ui.post("/rollout/jump", data={"reason": "x", "csrf": csrf}, follow_redirects=True)
    assert any("advance, pause or abort" in f for f in flashes(r.text))
    with steadyml.open(ui_root, env={}) as project:
        status = project.rollout_status(evaluate=False)
    assert status.rollout is not None and status.rollout.status == "aborted"
    assert project.production().version == 1  # type: ignore[union-attr]


def test_a_prediction_is_traced_to_its_model_run_data_and_code(
    ui: InProcess, ui_root: Path
) -> None:
    import datetime as dt

    from steadyml.entities import PredictionRecord, new_request_id

    rid = new_request_id()
    with steadyml.open(ui_root, env={}) as project:
        record = PredictionRecord(request_id=rid, at=dt.datetime.now(dt.UTC), model_version=2,
                                  route="live", inputs={}, prediction=1, score=0.81,
                                  latency_ms=3.0)  # fmt: skip
        project.store.add_predictions([record])
    page = ui.get("/models", params={"trace": rid}).text
    chain = page.split('class="chain"', 1)[1].split("</ol>", 1)[0]
    assert f"prediction <code>{rid}</code>" in chain and "score 0.810" in chain
    assert "model v2" in chain and "run 2" in chain
    missing = ui.get("/models", params={"trace": "nope"}).text
    assert "No logged API prediction has the request id &#39;nope&#39;" in missing
