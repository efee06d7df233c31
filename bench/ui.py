"""The dashboard's budget: every page under 300 ms server time at p95 and under 500 KB.

    .venv/bin/python bench/ui.py                     # seed the full size (bench/ui_seed.py), time
    .venv/bin/python bench/ui.py --root DIR          # time an already seeded project
    .venv/bin/python bench/ui.py --small             # a small seed (CI smoke: about a minute)
    .venv/bin/python bench/ui.py --loads 30 --json   # more loads, JSON out

Each page is loaded in process (``httpx.ASGITransport`` into ``create_ui_app``: the server's
whole work, rendering included, without a socket) twice to warm up and then ``--loads``
times; the time is the request's wall time, the size the body and headers sent. Plotly's
JavaScript is left out of each page's size: it is one file the browser fetches once and keeps
for a year (its size is printed once). Every ``Project`` call a page makes is timed through a
thin proxy, so the slowest page is printed with where its time went; a list page that calls a
whole-list method (``runs()``, ``model_versions()``, ``alerts()``, ``dataset_versions()`` on a
list of runs) is reported as loading per-item blobs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BUDGET_MS = 300.0
BUDGET_BYTES = 500_000
#: methods that read a whole list, with every item's blobs: a list page must not call them
WHOLE_LISTS = {"runs", "model_versions", "alerts", "deployment_events"}
LIST_PAGES = {
    "runs",
    "models",
    "alerts",
    "models (page 11)",
    "runs (page 101)",
    "alerts (resolved, page 51)",
    "runs (filtered)",
}


class Timed:
    """``Project`` with every method call timed, by the page being loaded."""

    def __init__(self, project: Any) -> None:
        self._project = project
        self.page = ""
        self.calls: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._project, name)
        if not callable(value) or name.startswith("_"):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self.calls[self.page][name].append(time.perf_counter() - t)

        return timed


def pages(project: Any) -> list[tuple[str, str]]:
    """(name, path) of every page, with the views a person opens on a big project."""
    prod = project.production()
    windows = project.monitor_windows(limit=200, measures=False)
    mid = windows[len(windows) // 2].id if windows else 0
    lengths = sorted(project.latest_windows())
    newest_alert = project.alerts_page(limit=1).items
    runs = project.runs_page(limit=2).items
    a, b = (runs[1].number, runs[0].number) if len(runs) == 2 else (1, 1)
    model_type = runs[0].model_type if runs else ""
    out = [
        ("overview", "/"),
        ("data", "/data"),
        ("runs", "/runs"),
        ("runs (page 101)", "/runs?offset=5000"),
        ("runs (filtered)", f"/runs?model_type={model_type}&gates=passed"),
        ("runs compared", f"/runs?a={a}&b={b}"),
        ("models", "/models"),
        ("models (page 11)", "/models?offset=500"),
        ("monitoring", "/monitoring"),
        ("monitoring (a mid-year window)", f"/monitoring?window={mid}"),
        ("alerts", "/alerts"),
        ("alerts (resolved, page 51)", "/alerts?status=resolved&offset=2500"),
        ("rollout", "/rollout"),
        ("login", "/login"),
    ]
    if len(lengths) > 1:
        out.append((f"monitoring ({lengths[-1]})", f"/monitoring?length={lengths[-1]}"))
    if prod is not None:
        out.append(("model card", f"/models/{prod.version}/card"))
        out.append(("models (lineage of production)", f"/models?version={prod.version}"))
    if newest_alert:
        out.append(("alert with history", f"/alerts?alert={newest_alert[0].id}"))
    return out


def measure(root: Path, loads: int) -> dict[str, Any]:
    import httpx

    import steadyml
    from steadyml.serving.ui.app import create_ui_app, plotly_js_name

    project = steadyml.open(root, env={})
    timed = Timed(project)
    app = create_ui_app(timed)  # type: ignore[arg-type]
    results: list[dict[str, Any]] = []

    async def run() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            js = await c.get(f"/static/{plotly_js_name()}")
            for name, path in pages(project):
                timed.page = name
                for _ in range(2):  # warm up: the first load opens the store, reads templates
                    await c.get(path)
                timed.calls[name].clear()
                times, size, status = [], 0, 0
                for _ in range(loads):
                    t = time.perf_counter()
                    r = await c.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                    status = r.status_code
                    size = len(r.content) + sum(len(k) + len(v) + 4 for k, v in r.headers.items())
                calls = {m: sum(v) * 1000 / loads for m, v in timed.calls[name].items()}
                results.append(
                    {
                        "page": name,
                        "path": path,
                        "status": status,
                        "p50_ms": round(statistics.median(times), 1),
                        "p95_ms": round(_p95(times), 1),
                        "max_ms": round(max(times), 1),
                        "bytes": size,
                        "project_ms": {
                            m: round(v, 1) for m, v in sorted(calls.items(), key=lambda kv: -kv[1])
                        },
                        "whole_lists": sorted(WHOLE_LISTS & set(calls))
                        if name in LIST_PAGES
                        else [],
                    }
                )
            return len(js.content)

    try:
        plotly_bytes = asyncio.run(run())
    finally:
        project.close()
    slowest = max(results, key=lambda r: r["p95_ms"])
    store_ms = sum(slowest["project_ms"].values())
    why = ", ".join(f"{m} {v:.0f} ms" for m, v in list(slowest["project_ms"].items())[:4])
    over = [
        r["page"]
        for r in results
        if r["p95_ms"] >= BUDGET_MS or r["bytes"] >= BUDGET_BYTES or r["status"] != 200
    ]
    return {
        "root": str(root),
        "loads": loads,
        "plotly_js_bytes": plotly_bytes,
        "pages": results,
        "slowest": {
            "page": slowest["page"],
            "p95_ms": slowest["p95_ms"],
            "project_ms": round(store_ms, 1),
            "render_ms": round(max(0.0, slowest["p50_ms"] - store_ms), 1),
            "why": why or "no Project call: rendering only",
        },
        "blob_reads": {r["page"]: r["whole_lists"] for r in results if r["whole_lists"]},
        "over_budget": over,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(result: dict[str, Any]) -> None:
    print(f"Dashboard pages of {result['root']}, {result['loads']} loads each (in process):\n")
    print(f"{'page':<34} {'p50 ms':>8} {'p95 ms':>8} {'KB':>8}  status")
    for r in result["pages"]:
        flag = "" if r["page"] not in result["over_budget"] else "  OVER BUDGET"
        print(
            f"{r['page']:<34} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
            f"{r['bytes'] / 1000:>8.1f}  {r['status']}{flag}"
        )
    s = result["slowest"]
    print(
        f"\nPlotly's JavaScript: {result['plotly_js_bytes'] / 1e6:.1f} MB, fetched once and "
        "cached for a year (not counted in any page)."
    )
    print(
        f"Slowest page: {s['page']} at {s['p95_ms']} ms p95: {s['project_ms']} ms in Project "
        f"calls ({s['why']}), about {s['render_ms']} ms building and rendering the page."
    )
    if result["blob_reads"]:
        print(f"List pages that read whole lists (per-item blobs): {result['blob_reads']}")
    else:
        print("No list page reads a whole list: every list is one page, without per-item blobs.")
    if result["over_budget"]:
        print(
            f"Over budget ({BUDGET_MS:.0f} ms p95, {BUDGET_BYTES // 1000} KB): "
            f"{', '.join(result['over_budget'])}"
        )
    else:
        print(f"Every page is under {BUDGET_MS:.0f} ms at p95 and under {BUDGET_BYTES // 1000} KB.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="an already seeded project (bench/ui_seed.py)")
    parser.add_argument("--small", action="store_true", help="seed a small project instead")
    parser.add_argument("--loads", type=int, default=20, help="timed loads per page")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    root = args.root
    if root is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from ui_seed import seed_project

        root = Path(tempfile.mkdtemp(prefix="steadyml-ui-bench-")) / "churn"
        size: dict[str, Any] = {}
        if args.small:
            size = {"runs": 200, "versions": 20, "alerts": 100, "predictions": 20_000, "days": 30}
        seed = seed_project(root, progress=None if args.json else print, **size)
        if not args.json:
            print(
                f"Seeded in {seed['seconds']['total']} s: {seed['runs']:,} runs, "
                f"{seed['model_versions']:,} versions, {seed['alerts']:,} alerts, "
                f"{seed['predictions']:,} predictions, windows {seed['windows']}.\n"
            )
    result = measure(root, args.loads)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    return 1 if result["over_budget"] or result["blob_reads"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
