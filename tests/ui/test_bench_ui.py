"""bench/ui.py runs on a real project: every page it times answers 200, and no list page reads
a whole list (the benchmark's own check of per-item blobs)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ui.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ui", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_ui"] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_times_every_page_and_finds_no_whole_list_read(ui_root: Path) -> None:
    bench = _bench()
    result = bench.measure(ui_root, loads=1)
    names = {p["page"] for p in result["pages"]}
    assert {"overview", "runs", "models", "monitoring", "alerts", "rollout", "model card"} <= names
    assert [p["page"] for p in result["pages"] if p["status"] != 200] == []
    assert result["blob_reads"] == {}
    assert "runs_page" in next(p for p in result["pages"] if p["page"] == "runs")["project_ms"]
    assert result["plotly_js_bytes"] > 1_000_000
    assert result["slowest"]["page"] in names
