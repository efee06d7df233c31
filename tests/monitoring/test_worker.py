"""Scheduled jobs: each run recorded; batch skips files already scored; a real worker process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from steadyml.samples.churn import make_churn_live
from steadyml.worker import cron_lines, planned_jobs, run_job


def _with_schedule(project: Any, extra: str) -> None:
    cfg = project.root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8")
    head, _, _ = text.partition("\nschedule:")
    cfg.write_text(head + "\nschedule:\n" + extra, encoding="utf-8")


def test_jobs_are_recorded_and_batch_scores_each_file_once(trained_project: Any) -> None:
    import steadyml

    _with_schedule(
        trained_project,
        "  monitor_every_minutes: 15\n  retention_at: '03:30'\n"
        "  batch:\n    input_folder: incoming\n    output_folder: scored\n    at: '02:00'\n",
    )
    root = trained_project.root
    trained_project.close()
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="scheduled scoring", by="test")
        assert [j.describe() for j in planned_jobs(project)] == [
            "monitor: every 15 min", "batch: daily at 02:00", "retention: daily at 03:30"
        ]  # fmt: skip
        assert cron_lines(project)[1].startswith("0 2 * * *  cd ")
        assert cron_lines(project)[1].endswith("steadyml worker --once batch")

        failed = run_job(project, "batch")  # the input folder does not exist yet
        assert failed.ok is False and "does not exist" in (failed.error or "")

        (root / "incoming").mkdir()
        features, _ = make_churn_live(n_customers=150, months=1)
        features.to_csv(root / "incoming" / "monday.csv", index=False)
        first = run_job(project, "batch")
        assert first.ok, first.error
        assert first.summary["scored_files"][0]["rows_in"] == 150
        assert (root / "scored" / "monday.csv.scored.parquet").exists()
        again = run_job(project, "batch")
        assert again.summary == {"scored_files": [], "already_scored": ["monday.csv"],
                                 "skipped": []}  # fmt: skip

        watched = run_job(project, "monitor")
        assert watched.ok, watched.error
        assert watched.summary["rows"] == 150
        kept = run_job(project, "retention")
        assert kept.ok and kept.summary["deleted_predictions"] == 0  # all rows are new

        history = project.store.list_job_runs()
        assert [r.job for r in history] == ["retention", "monitor", "batch", "batch", "batch"]
        assert all(r.finished_at is not None for r in history)


def test_batch_scores_every_file_by_its_full_name_and_skips_links(
    trained_project: Any, tmp_path: Path
) -> None:
    import pandas as pd

    import steadyml

    _with_schedule(
        trained_project,
        "  batch:\n    input_folder: incoming\n    output_folder: scored\n    at: '02:00'\n",
    )
    root = trained_project.root
    trained_project.close()
    features, _ = make_churn_live(n_customers=100, months=1)
    inbox = root / "incoming"
    inbox.mkdir()
    names = ["jan.csv", "jan.final.parquet.csv", "jan.v2.csv"]
    for name in names:
        features.to_csv(inbox / name, index=False)
    outside = tmp_path / "secret.csv"  # a file outside the inbox, linked into it
    features.to_csv(outside, index=False)
    (inbox / "linked.csv").symlink_to(outside)
    (inbox / "loop.csv").symlink_to(inbox / "loop.csv")
    features.to_csv(inbox / "old.csv", index=False)
    (root / "scored").mkdir()
    pd.DataFrame({"x": [1]}).to_parquet(root / "scored" / "old.scored.parquet")  # an old name
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="scheduled scoring", by="test")
        run = run_job(project, "batch")

        assert run.ok, run.error
        scored = {f["file"]: f for f in run.summary["scored_files"]}
        assert sorted(scored) == names  # three outputs, 300 rows scored
        assert sum(f["rows_in"] for f in scored.values()) == 300
        for name in names:
            assert scored[name]["output"] == f"{name}.scored.parquet"
            assert len(pd.read_parquet(root / "scored" / f"{name}.scored.parquet")) == 100
        assert run.summary["already_scored"] == ["old.csv"]  # the earlier version's output
        skipped = {s["file"]: s["reason"] for s in run.summary["skipped"]}
        assert sorted(skipped) == ["linked.csv", "loop.csv"]
        assert skipped["linked.csv"].startswith(f"a symbolic link (to {outside})")
        assert "copy the file there" in skipped["loop.csv"]
        assert not (root / "scored" / "linked.csv.scored.parquet").exists()

        (inbox / "broken.csv").write_text("customer_id,plan\n", encoding="utf-8")  # no rows
        features.to_csv(inbox / "late.csv", index=False)
        failed = run_job(project, "batch")  # one bad file fails the job, not the others
        assert failed.ok is False
        assert "1 file(s)" in (failed.error or "") and "broken.csv: " in (failed.error or "")
        assert "scored this run: late.csv" in (failed.error or "")
        assert (root / "scored" / "late.csv.scored.parquet").exists()


@pytest.mark.slow  # a real worker process (~2 s)
def test_the_worker_process_starts_and_stops_cleanly(trained_project: Any) -> None:
    root = trained_project.root
    trained_project.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "steadyml", "--project", str(root), "worker"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        lines: list[str] = []
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Stop it with Ctrl-C" in line or not line:
                break
        text = "".join(lines)
        assert "started with 2 job(s)" in text, text
        assert "monitor: every 60 min" in text and "retention: daily at 03:30" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "Traceback" not in rest


def test_cli_once_and_history(cli: Any, trained_project: Any) -> None:
    from steadyml.cli.app import app

    root = str(trained_project.root)
    trained_project.close()
    ok = cli.invoke(app, ["--project", root, "worker", "--once", "retention"])
    assert ok.exit_code == 0, ok.output
    assert "Job retention finished" in ok.stdout
    bad = cli.invoke(app, ["--project", root, "worker", "--once", "backup"])
    assert bad.exit_code == 2 and "must be one of monitor, batch, retention" in bad.output
    history = cli.invoke(app, ["--project", root, "worker", "--history"])
    assert "retention" in history.stdout and "ok" in history.stdout
    cron = cli.invoke(app, ["--project", root, "worker", "--cron"])
    assert "steadyml worker --once monitor" in cron.stdout


def test_schedule_times_are_validated(project_dir: Path) -> None:
    import steadyml
    from steadyml.errors import ConfigError

    cfg = project_dir / "steadyml.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nschedule:\n  retention_at: '25:00'\n",
                   encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError, match=r"25:00.*is not a time of day"):
        steadyml.open(project_dir, env={})
