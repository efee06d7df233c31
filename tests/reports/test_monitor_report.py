"""The monitoring report is one self-contained HTML page: every section renders (also with
gaps), text is escaped, nothing is loaded from the network, and the Plotly charts really draw
in a headless Chromium."""

from __future__ import annotations

import contextlib
import copy
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from steadyml.reports import render_monitor_report
from steadyml.reports.monitor import MONITOR_SECTIONS

CHROMIUM = "/usr/bin/chromium"
EVIL = "<script>alert(1)</script>"
HEADINGS = [title for _, title, _ in MONITOR_SECTIONS]
FEATURES = [
    ("tenure_months", "numeric", "ks"),
    ("monthly_charges", "numeric", "wasserstein"),
    ("data_usage_gb", "numeric", "ks"),
    ("contract", "categorical", "chi_square"),
    ("payment_method", "categorical", "jensen_shannon"),
]
DRIFTING = ("monthly_charges", "payment_method")  # from week 3 on
STARTS = ["2026-01-01", "2026-01-08", "2026-01-15", "2026-01-22", "2026-01-29"]
# 3 system charts, the drift heatmap, 5 feature histograms + the prediction histogram for the
# latest window, the performance chart and the fairness chart
FIGURES = 3 + 1 + 6 + 1 + 1


def iso(day: str, hour: int = 0) -> str:
    return f"{day}T{hour:02d}:00:00+00:00"


def histogram(kind: str, shifted: bool) -> dict[str, Any]:
    if kind == "categorical":
        current = [0.2, 0.3, 0.5] if shifted else [0.45, 0.35, 0.2]
        return {
            "categories": ["Electronic check", "Mailed check", "Bank transfer"],
            "reference": [0.45, 0.35, 0.2],
            "current": current,
        }
    reference = [0.02, 0.05, 0.1, 0.15, 0.18, 0.18, 0.15, 0.1, 0.05, 0.02]
    current = reference[::-1] if not shifted else [0.0] * 5 + [0.1, 0.2, 0.3, 0.25, 0.15]
    return {"edges": [20.0 + 10 * i for i in range(11)], "reference": reference, "current": current}


def feature_drift(name: str, kind: str, test: str, *, shifted: bool, n: int) -> dict[str, Any]:
    distance = test in ("wasserstein", "jensen_shannon")
    enough = n >= 200
    status = "not enough data" if not enough else ("drift" if shifted else "ok")
    return {
        "feature": name,
        "kind": kind,
        "test": test if enough else None,
        "statistic": (0.31 if shifted else 0.04) if enough else None,
        "p_value": None if distance or not enough else (1e-6 if shifted else 0.42),
        "threshold": 0.1 if distance else 0.01,
        "threshold_kind": "distance" if distance else "p_value",
        "drifted": shifted if enough else None,
        "n_reference": 16000,
        "n_current": n,
        "psi": (0.41 if shifted else 0.02) if enough else None,
        "status": status,
        "message": f"{name} {'changed' if shifted else 'looks like training'}.",
        "histogram": histogram(kind, shifted),
    }


def make_window(week: int) -> dict[str, Any]:
    """Week 1..4: drift from week 3, week 4 still waiting for labels."""
    start, end = STARTS[week - 1], STARTS[week]
    drifting = week >= 3
    volume = 1200 + 100 * week
    drift = [
        feature_drift(name, kind, test, shifted=drifting and name in DRIFTING, n=volume)
        for name, kind, test in FEATURES
    ]
    prediction = feature_drift("churn_probability", "numeric", "ks", shifted=week == 4, n=volume)
    if week < 4:
        performance = {
            "status": "ok",
            "labelled": 850,
            "metrics": {"roc_auc": [0.83, 0.82, 0.71][week - 1], "f1": 0.6 - 0.03 * week},
            "drop": [0.01, 0.02, 0.13][week - 1],
        }
    else:
        performance = {"status": "waiting for labels", "labelled": 0, "metrics": {}, "drop": None}
    quality = [
        {
            "feature": name,
            "missing_rate": 0.35 if (week == 4 and name == "data_usage_gb") else 0.01,
            "reference_missing_rate": 0.01,
            "unseen_categories": ["NEW_PAYMENT_METHOD"]
            if (week == 4 and name == "payment_method")
            else [],
            "unseen_rate": 0.1 if (week == 4 and name == "payment_method") else 0.0,
            "out_of_range_rate": 0.0,
            "status": "warning"
            if week == 4 and name in ("data_usage_gb", "payment_method")
            else "ok",
            "message": f"{name}: see the numbers.",
        }
        for name, _, _ in FEATURES
    ]
    labelled = week < 4
    return {
        "start": iso(start),
        "end": iso(end),
        "label": f"{start} to {end}",
        "system": {
            "volume": volume,
            "by_route": {"live": volume - 300, "batch": 300, "canary": 0, "shadow": 0},
            "latency_ms": {"p50": 3.1 + week, "p95": 8.0 + week, "p99": 12.5 + 2 * week},
            "error_rate": 0.01 * week,
            "fallback_rate": 0.0,
        },
        "quality": {"rows": volume, "contract_violation_rate": 0.002, "features": quality},
        "drift": {
            "features": drift,
            "prediction": prediction,
            "drifted": list(DRIFTING) if drifting else [],
        },
        "performance": performance,
        "segments": {
            "contract": {
                "Month-to-month": {"labelled": 400, "metrics": {"roc_auc": 0.7, "f1": 0.5}},
                "Two year": {"labelled": 450, "metrics": {"roc_auc": 0.8, "f1": 0.4}},
            }
        }
        if labelled
        else {},
        "fairness": {
            "gender": {"metric": "recall", "groups": {"F": 0.61, "M": 0.58 - 0.1 * (week == 3)}}
            | {"gap": 0.03 + 0.1 * (week == 3)}
        }
        if labelled
        else {},
    }


def make_alert(alert_id: int, severity: str, status: str, **overrides: Any) -> dict[str, Any]:
    history = [{"at": iso("2026-01-22", 1), "event": "opened", "by": None, "note": None}]
    if status != "open":
        history.append(
            {"at": iso("2026-01-23", 9), "event": status, "by": "alice", "note": "looking at it"}
        )
    alert = {
        "id": alert_id,
        "rule": "performance drop",
        "severity": severity,
        "status": status,
        "metric": "performance_drop",
        "subject": None,
        "value": 0.13,
        "comparison": ">",
        "threshold": 0.05,
        "window_start": iso("2026-01-15"),
        "window_end": iso("2026-01-22"),
        "owner": "data-science@example.com",
        "message": "roc_auc fell from 0.84 at training to 0.71.",
        "next_step": "Compare the drifted features with the training data, then retrain.",
        "first_seen": iso("2026-01-22", 1),
        "last_seen": iso("2026-01-29", 1),
        "times_seen": 2,
        "history": history,
    }
    return alert | overrides


def make_result(**overrides: Any) -> dict[str, Any]:
    result = {
        "project": "churn",
        "model_version": 1,
        "generated_at": "2026-01-29T10:00:00+00:00",
        "since": iso("2026-01-01"),
        "until": iso("2026-01-29"),
        "window": "7d",
        "time_basis": "logged",
        "success_metric": "roc_auc",
        "higher_is_better": True,
        "settings": {
            "p_value": 0.01,
            "distance": 0.1,
            "psi": 0.2,
            "min_samples": 200,
            "large_sample": 1000,
            "max_fairness_gap": 0.1,
        },
        "training": {
            "metrics": {"roc_auc": 0.84, "f1": 0.6},
            "fairness": {"gender": {"gap": 0.03}},
        },
        "windows": [make_window(week) for week in (1, 2, 3, 4)],
        "alerts": [
            make_alert(1, "warning", "resolved", rule="missing values", subject="data_usage_gb"),
            make_alert(2, "warning", "acknowledged", rule="slow predictions", metric="latency_p95"),
            make_alert(
                4,
                "warning",
                "open",
                rule="feature drift",
                metric="drift",
                subject="monthly_charges",
                message="monthly_charges looks different from training.",
            ),
            make_alert(3, "critical", "open"),
        ],
    }
    return result | overrides


def without_plotly(page: str) -> str:
    """The page with Plotly's own bundle cut out (it mentions URLs in its source code)."""
    return page.replace(get_plotlyjs(), "")


class _Rows(HTMLParser):
    """Every <tr> that carries a data-feature, with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and any(k == "data-feature" for k, _ in attrs):
            self.rows.append({k: v or "" for k, v in attrs})


def feature_rows(page: str) -> list[dict[str, str]]:
    parser = _Rows()
    parser.feed(without_plotly(page))
    return parser.rows


def section(page: str, key: str) -> str:
    """The HTML of one <section>, found by its heading id."""
    start = page.index(f'<h2 id="{key}">')
    return page[start : page.index("</section>", start)]


@pytest.fixture(scope="module")
def page() -> str:
    return render_monitor_report(make_result())


def test_every_section_heading_is_present(page: str) -> None:
    for key, title, _ in MONITOR_SECTIONS:
        assert f'<h2 id="{key}">{title}</h2>' in page
    assert "What this page shows" in page and "What to do" in page


def test_page_loads_nothing_from_the_network(page: str) -> None:
    assert page.count(get_plotlyjs()) == 1
    rest = without_plotly(page)
    assert "plotly.js v" not in rest  # the bundle is there once, not twice
    assert not re.search(r"<script[^>]*\bsrc\s*=", rest, re.IGNORECASE)
    assert not re.search(r"<link\b", rest, re.IGNORECASE)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", rest, re.IGNORECASE)
    assert "@import" not in rest and "url(" not in rest
    assert "cdn.plot.ly" not in rest


def test_each_chart_is_a_plotly_figure_without_its_own_copy_of_plotly(page: str) -> None:
    assert page.count('class="plotly-graph-div"') == FIGURES
    assert page.count("Plotly.newPlot(") == FIGURES
    assert page.count("<script") == FIGURES + 1


def test_summary_lists_open_alerts_first_with_their_next_step(page: str) -> None:
    summary = section(page, "summary")
    ids = re.findall(r'data-alert="(\d+)"', summary)
    assert ids == ["3", "4"]  # open only, critical before warning
    assert "Next step:</span> Compare the drifted features" in summary
    assert '<span class="pill critical">critical</span>' in summary


def test_summary_has_one_verdict_per_window(page: str) -> None:
    summary = section(page, "summary")
    verdicts = re.findall(
        r'<li class="(ok|warn|bad)"><strong>([^<]+):</strong> ([^<]+)</li>', summary
    )
    assert [label for _, label, _ in verdicts] == [
        "2026-01-01 to 2026-01-08",
        "2026-01-08 to 2026-01-15",
        "2026-01-15 to 2026-01-22",
        "2026-01-22 to 2026-01-29",
    ]
    assert verdicts[0] == (
        "ok",
        "2026-01-01 to 2026-01-08",
        "no drift, roc auc 0.830 (training 0.840)",
    )
    level, _, text = verdicts[2]
    assert level == "bad"
    assert text == (
        "2 features drifted (monthly_charges, payment_method), roc auc 0.710 (training 0.840)"
    )
    assert verdicts[3][2].endswith(
        "predictions drifted, 2 data quality warnings, waiting for labels"
    )


def test_drifted_features_are_marked_in_every_window(page: str) -> None:
    drift = section(page, "drift")
    rows = [r for r in feature_rows(page) if "drifted" in r["class"] or r["data-status"] == "drift"]
    assert rows, "no drift rows found"
    for r in rows:
        assert r["class"].split()[:2] == ["flag", "drifted"], r
    # weeks 3 and 4 drift on two features; the latest window's prediction drifted too
    assert sorted(r["data-feature"] for r in rows) == sorted(
        [*DRIFTING, *DRIFTING, "churn_probability"]
    )
    assert "Latest window: 2026-01-22 to 2026-01-29" in drift
    assert drift.count("<details>") == 3  # the three earlier windows, collapsed


def test_quality_warnings_are_highlighted(page: str) -> None:
    quality = section(page, "quality")
    warned = [
        r["data-feature"] for r in feature_rows(quality + "</section>") if r["class"] == "warnrow"
    ]
    assert warned == ["data_usage_gb", "payment_method"]
    assert "NEW_PAYMENT_METHOD" in quality
    assert "35.0%" in quality


def test_waiting_for_labels_is_shown_not_zero(page: str) -> None:
    performance = section(page, "performance")
    row = re.search(r'<tr data-status="waiting for labels">(.*?)</tr>', performance, re.DOTALL)
    assert row, "the waiting window has no row"
    assert 'class="waiting">waiting for labels</td>' in row.group(1)
    assert "0.000" not in row.group(1)
    assert '"text":"waiting for labels"' in performance  # annotated on the chart too
    assert "0.710" in performance and "-0.130" in performance


def test_fairness_gap_over_the_limit_is_flagged(page: str) -> None:
    fairness = section(page, "segments")
    assert "at most <strong>0.100</strong>" in fairness
    assert '<td class="num bad">0.130</td>' in fairness
    assert "Month-to-month" in fairness


def test_alerts_section_lists_all_alerts_with_history(page: str) -> None:
    alerts = section(page, "alerts")
    found = re.findall(r'data-alert="(\d+)" data-status="(\w+)"', alerts)
    assert found == [("3", "open"), ("4", "open"), ("2", "acknowledged"), ("1", "resolved")]
    assert "looking at it" in alerts and "alice" in alerts
    assert "0.130 &gt; 0.050" in alerts


def test_rendering_does_not_change_the_input() -> None:
    result = make_result()
    before = copy.deepcopy(result)
    render_monitor_report(result)
    assert result == before


def test_text_is_escaped_everywhere() -> None:
    result = make_result()
    week = result["windows"][3]
    week["drift"]["features"][0]["feature"] = EVIL
    week["drift"]["features"][0]["histogram"] = {
        "categories": [EVIL, "b"],
        "reference": [0.5, 0.5],
        "current": [0.4, 0.6],
    }
    week["drift"]["drifted"].append(EVIL)
    week["quality"]["features"][0]["feature"] = EVIL
    week["quality"]["features"][0]["unseen_categories"] = [EVIL]
    result["windows"][0]["segments"]["contract"][EVIL] = {"labelled": 1, "metrics": {"roc_auc": 1}}
    result["alerts"][0]["message"] = EVIL
    result["project"] = EVIL
    page = render_monitor_report(result)
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == page.count("</script>")


def test_a_result_with_no_windows_and_no_alerts_renders() -> None:
    page = render_monitor_report(make_result(windows=[], alerts=[]))
    for title in HEADINGS:
        assert title in page
    assert "<script" not in page  # no charts, so no Plotly either
    assert "No open alerts" in page
    assert "Not enough data" in page and "No labels yet" in page


def test_an_empty_mapping_renders() -> None:
    page = render_monitor_report({})
    assert "Monitoring report: model no version recorded" in page
    assert "No alerts were raised" in page


def test_none_valued_sections_do_not_crash() -> None:
    window = {
        "start": iso("2026-01-01"),
        "end": iso("2026-01-08"),
        "label": None,
        "system": {"volume": 0, "by_route": None, "latency_ms": None, "error_rate": None},
        "quality": None,
        "drift": {"features": None, "prediction": None, "drifted": None},
        "performance": None,
        "segments": None,
        "fairness": None,
    }
    alert = {"id": 1, "severity": None, "status": None, "history": None, "value": None}
    result = dict.fromkeys(make_result()) | {"windows": [window], "alerts": [alert]}
    page = render_monitor_report(result)
    assert "2026-01-01 to 2026-01-08: </strong> no predictions, no labels yet" in page.replace(
        ":</strong>", ": </strong>"
    )
    assert "Not enough data: no drift check ran in this period." in page
    assert "No labels yet" in page


def test_event_time_basis_is_explained() -> None:
    page = render_monitor_report(make_result(time_basis="event:snapshot_month"))
    assert "the event time in column &#39;snapshot_month&#39;" in page


def test_a_non_mapping_is_refused() -> None:
    with pytest.raises(TypeError, match=r"result must be a mapping\. Got list instead\."):
        render_monitor_report([])  # type: ignore[arg-type]


def _chromium(path: str = CHROMIUM) -> str:
    if Path(path).exists():
        return path
    if os.environ.get("STEADYML_SKIP_BROWSER") == "1":
        pytest.skip("STEADYML_SKIP_BROWSER=1: the headless Chromium check was not run")
    pytest.fail(
        f"Chromium is missing ({path} not found): run `bash scripts/chromium.sh` to "
        "install it, or set STEADYML_SKIP_BROWSER=1 to skip the browser tests."
    )


def test_a_missing_chromium_fails_with_the_fix_unless_skipping_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = str(tmp_path / "chromium")
    monkeypatch.delenv("STEADYML_SKIP_BROWSER", raising=False)
    with pytest.raises(pytest.fail.Exception, match=r"run `bash scripts/chromium\.sh`"):
        _chromium(missing)
    monkeypatch.setenv("STEADYML_SKIP_BROWSER", "1")
    with pytest.raises(pytest.skip.Exception):
        _chromium(missing)


@pytest.mark.slow  # a real headless Chromium (~4 s)
def test_page_draws_every_chart_in_headless_chromium_without_network(
    page: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    executable = _chromium()
    path = tmp_path / "monitor.html"
    path.write_text(page, encoding="utf-8")
    network: list[str] = []
    errors: list[str] = []

    def only_files(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            network.append(route.request.url)
            route.abort()

    drawn = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
                    .filter(el => el.querySelector('svg.main-svg')).length"""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            tab = browser.new_page()
            tab.route("**/*", only_files)
            tab.on(
                "request",
                lambda r: (
                    None if r.url.startswith(("file:", "data:", "blob:")) else network.append(r.url)
                ),
            )
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(path.as_uri(), wait_until="load")
            with contextlib.suppress(PlaywrightTimeout):  # the assertion says how many drew
                tab.wait_for_function(f"({drawn})() >= {FIGURES}", timeout=10_000)
            count = tab.evaluate(drawn)
            headings = tab.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
            details_open = tab.evaluate("document.querySelectorAll('details[open]').length")
        finally:
            browser.close()
    assert network == [], f"the page tried to reach the network: {network}"
    assert errors == [], f"console or page errors: {errors}"
    assert count == FIGURES
    assert headings == HEADINGS
    assert details_open == 1  # the latest data-quality window
