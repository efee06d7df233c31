"""``bench/ui_seed.py`` still seeds: a small project, every part there and readable.

No timing is asserted here (the dashboard's budget lives in ``bench/ui.py``); this only keeps
the seeding from rotting when the store, the log or the monitor change.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.slow  # trains the sample project, then seeds and monitors a small log (~20-40 s)
def test_seed_project_makes_every_part_at_a_small_size(tmp_path: Path) -> None:
    import steadyml

    sys.path.insert(0, str(BENCH))  # as bench/ui.py imports it
    try:
        from ui_seed import seed_project
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("ui_seed", None)

    now = dt.datetime(2026, 6, 10, 15, 0, tzinfo=dt.UTC)  # a Wednesday
    summary = seed_project(tmp_path / "seeded", runs=100, versions=10, alerts=60,
                           predictions=1000, days=20, now=now)  # fmt: skip
    assert summary["runs"] == 100 and summary["model_versions"] == 10
    assert summary["alerts"] == 60 and summary["predictions"] == 1000
    assert summary["production_version"] == 10
    # the log ends at midnight and starts on a Monday (the 7d rules' boundary) 20+ days back
    since = dt.datetime.fromisoformat(summary["since"])
    until = dt.datetime.fromisoformat(summary["until"])
    assert until == dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
    assert since.weekday() == 0 and since <= until - dt.timedelta(days=20)
    days = (until - since).days
    assert summary["windows"] == {"1d": days, "7d": -(-days // 7)}  # the last week partial

    with steadyml.open(tmp_path / "seeded", env={}) as project:
        assert project.production() is not None and project.production().version == 10
        assert len(project.runs()) == 100
        assert project.run(57).run_key != project.run(56).run_key
        bundle = project.load_model(10)  # a copied version loads: its artifact is real
        assert bundle.features
        assert len(project.alerts()) == 60
        assert sum(1 for a in project.alerts() if a.status == "open") >= 1
        latest = project.latest_windows()
        assert sorted(latest) == ["1d", "7d"]
        daily = project.monitor_windows(length="1d", limit=days)
        assert sum(w.rows for w in daily) == 1000
        assert all(w.model_version == 10 for w in daily)
        assert any(w.measures["performance"]["labelled"] for w in daily)
        assert project.count_predictions() == 1000
