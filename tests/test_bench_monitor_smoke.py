"""``bench/monitor_memory.py`` still runs: a tiny log at two sizes, every row measured.

No timing or memory is asserted here (the goals live in the benchmark); this only keeps the
benchmark from rotting when the log, batch scoring or the monitor change.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "monitor_memory.py"


@pytest.mark.slow  # trains the sample project and runs the monitor twice (~30-60 s)
def test_monitor_bench_measures_every_logged_row(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("_bench_monitor", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--sizes", "3000", "7000", "--customers", "800", "--json"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    out = json.loads(capsys.readouterr().out)
    assert [r["rows"] for r in out["runs"]] == [3000, 7000]
    assert all(r["busy_windows"] == 1 and r["peak_rss_mib"] > 0 for r in out["runs"])
    assert out["summary"]["rows_ratio"] == pytest.approx(7000 / 3000, abs=0.1)
