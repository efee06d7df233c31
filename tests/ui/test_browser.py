"""The dashboard in a real headless Chromium (playwright, /usr/bin/chromium) against a real
uvicorn on 127.0.0.1: every page loads with no console error and no request to another host,
charts draw, the keyboard reaches every control and each has a label, and promote, rollback,
acknowledge and resolve done by clicking show in the CLI. A page shot of each page is saved
under the test run's temporary folder, in ``artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner
from ui_helpers import PAGES, UiServer

from steadyml.cli.app import app as cli_app

pytestmark = pytest.mark.slow  # a real server and a real browser

CHROMIUM = "/usr/bin/chromium"
DRAWN = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
                .filter(el => el.querySelector('svg.main-svg')).length"""
CONTROLS = """() => Array.from(document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea'))
  .filter(el => el.offsetParent !== null || getComputedStyle(el).position === 'fixed')"""


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("STEADYML_SKIP_BROWSER") == "1":
        pytest.skip("STEADYML_SKIP_BROWSER=1: the headless Chromium checks were not run")
    pytest.fail(f"Chromium is missing ({CHROMIUM} not found): run `bash scripts/chromium.sh`, "
                "or set STEADYML_SKIP_BROWSER=1 to skip the browser tests.")  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


class Tab:
    """A browser tab that refuses and records every request to another host, and records
    console errors and page errors."""

    def __init__(self, browser: Any, server: UiServer) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.server = server
        self.foreign: list[str] = []
        self.errors: list[str] = []
        host = urlsplit(server.url).netloc

        def only_ours(route: Any) -> None:
            url = route.request.url
            if urlsplit(url).netloc == host or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                self.foreign.append(url)
                route.abort()

        self.page.route("**/*", only_ours)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str) -> Any:
        response = self.page.goto(self.server.url + path, wait_until="load")
        assert response is not None and response.status == 200, path
        return response

    def sign_in(self, root: Path) -> None:
        keys = dict(line.split("=", 1) for line in (root / "keys.txt").read_text().splitlines())
        self.open("/login")
        self.page.get_by_label("Admin API key").fill(keys["admin"])
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_selector("text=Signed in with the key 'ops'")

    def close(self) -> None:
        self.context.close()


def _root(server: UiServer) -> Path:
    return Path(server.proc.args[4])  # type: ignore[index]


def test_each_page_loads_from_this_server_only_and_charts_draw(
    browser: Any, ui_server: UiServer, artifacts: Path
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab = Tab(browser, ui_server)
    try:
        drawn: dict[str, tuple[int, int]] = {}
        for path in PAGES:
            tab.open(path)
            charts = tab.page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
            with contextlib.suppress(PlaywrightTimeout):  # the assertion says how many drew
                tab.page.wait_for_function(f"({DRAWN})() >= {charts}", timeout=15_000)
            drawn[path] = (tab.page.evaluate(DRAWN), charts)
            name = path.strip("/") or "overview"
            tab.page.screenshot(path=str(artifacts / f"ui-{name}.png"), full_page=True)
    finally:
        tab.close()
    assert tab.foreign == [], f"requests to another host: {tab.foreign}"
    assert tab.errors == [], f"console or page errors: {tab.errors}"
    assert drawn["/monitoring"][1] >= 6, drawn
    assert all(d == c for d, c in drawn.values()), drawn
    assert {p.name for p in artifacts.glob("ui-*.png")} >= {"ui-overview.png", "ui-monitoring.png"}


def test_keyboard_reaches_every_control_and_each_has_a_label(
    browser: Any, ui_server: UiServer
) -> None:
    tab = Tab(browser, ui_server)
    unlabelled: dict[str, list[str]] = {}
    unreached: dict[str, list[str]] = {}
    try:
        tab.sign_in(_root(ui_server))
        for path in (*PAGES, "/models?version=2", "/alerts?alert=1"):
            tab.open(path)
            count = tab.page.evaluate(f"""() => {{
                const els = ({CONTROLS})();
                els.forEach((el, i) => el.setAttribute('data-k', String(i)));
                return els.length; }}""")
            unlabelled[path] = tab.page.evaluate(f"""() => ({CONTROLS})().filter(el => {{
                const tag = el.tagName.toLowerCase();
                if (tag === 'a' || tag === 'button')
                  return !(el.textContent.trim() || el.getAttribute('aria-label'));
                return !((el.labels && el.labels.length) || el.getAttribute('aria-label'));
              }}).map(el => el.outerHTML.slice(0, 80))""")
            seen: set[str] = set()
            for _ in range(count + 5):
                tab.page.keyboard.press("Tab")
                k = tab.page.evaluate("document.activeElement.getAttribute('data-k')")
                if k is not None:
                    seen.add(k)
                if len(seen) == count:
                    break
            unreached[path] = sorted(set(map(str, range(count))) - seen, key=int)
    finally:
        tab.close()
    assert {p: u for p, u in unlabelled.items() if u} == {}
    assert {p: u for p, u in unreached.items() if u} == {}
    assert tab.errors == []


def _cli(root: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli_app, ["--project", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_actions_by_clicking_show_in_the_cli_and_need_a_key(
    browser: Any, ui_server: UiServer
) -> None:
    root = _root(ui_server)
    tab = Tab(browser, ui_server)
    try:
        tab.open("/models?version=2")
        assert tab.page.get_by_role("button", name="Promote version 2").count() == 0
        refused = tab.page.evaluate("""async () => (await fetch('/models/rollback', {
            method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'},
            body: 'reason=x'})).status""")
        assert refused == 401

        tab.sign_in(root)
        tab.open("/models?version=2")
        tab.page.get_by_label("Reason", exact=True).first.fill("better recall in the test")
        tab.page.get_by_role("button", name="Promote version 2").click()
        tab.page.wait_for_selector("text=Version 2 is now in production.")
        stages = {v["version"]: v["stage"] for v in _cli(root, "models", "list", "--json")}
        assert stages[2] == "production" and stages[1] != "production"

        tab.page.locator("#rollback-reason").fill("calls went up")
        tab.page.get_by_role("button", name="Roll back to the previous production version").click()
        tab.page.wait_for_selector("text=Rolled back: version 1")
        stages = {v["version"]: v["stage"] for v in _cli(root, "models", "list", "--json")}
        assert stages[1] == "production"

        tab.open("/alerts?alert=1")
        tab.page.locator("#ack-note").fill("looking at it")
        tab.page.get_by_role("button", name="Acknowledge alert 1").click()
        tab.page.wait_for_selector("text=Alert 1 acknowledged")
        assert _cli(root, "alerts", "show", "1", "--json")["status"] == "acknowledged"
        tab.page.locator("#resolve-note").fill("retrained on fresh labels")
        tab.page.get_by_role("button", name="Resolve alert 1").click()
        tab.page.wait_for_selector("text=Alert 1 resolved.")
        shown = _cli(root, "alerts", "show", "1", "--json")
    finally:
        tab.close()
    assert shown["status"] == "resolved"
    assert [h["note"] for h in shown["history"]][-2:] == [
        "looking at it",
        "retrained on fresh labels",
    ]
    assert tab.foreign == []
    assert [e for e in tab.errors if "401 (Unauthorized)" not in e] == []  # only the refusal
