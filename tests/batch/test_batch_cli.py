"""`steadyml batch score` through Typer's CliRunner; effects checked through the library."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import typer

from steadyml.cli import batch_cmd


def _app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(batch_cmd.app, name="batch")
    return root


def test_score_prints_the_count_invariant_and_reasons(cli, write_input, batch_project,
                                                       scoring_frame, tmp_path, monkeypatch):  # fmt: skip
    frame = scoring_frame.head(120).astype(str)
    frame.loc[7, "tenure_months"] = "abc"  # breaks a rule (the type): rejected
    frame.loc[9, "plan"] = "gold"  # outside what training showed: scored, with a warning
    write_input(frame, "in.csv")
    monkeypatch.chdir(batch_project.root)
    result = cli.invoke(_app(), ["batch", "score", str(tmp_path / "in.csv"),
                                 "--out", str(tmp_path / "out.csv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Read 120 rows: 119 scored, 1 rejected (written to" in result.output
    assert "tenure_months: wrong type" in result.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == 119
    assert batch_project.store.count_predictions(route="batch", answered=True) == 119
    assert batch_project.store.count_predictions(route="batch", answered=False) == 1


def test_score_json_and_errors(
    cli, write_input, batch_project, scoring_frame, tmp_path, monkeypatch
):
    write_input(scoring_frame.head(30), "in.parquet")
    monkeypatch.chdir(batch_project.root)
    args = ["batch", "score", str(tmp_path / "in.parquet"), "--out", str(tmp_path / "o.csv")]
    result = cli.invoke(_app(), [*args, "--json", "--no-log"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rows_in"] == 30 and payload["counts_add_up"] is True
    assert batch_project.store.count_predictions(route="batch") == 0
    (tmp_path / "empty.csv").write_bytes(b"")
    bad = cli.invoke(_app(), ["batch", "score", str(tmp_path / "empty.csv"), "--out", "x.csv"])
    assert bad.exit_code == 1 and "is empty (0 bytes)" in bad.output


def test_score_refuses_the_same_file_for_out_and_rejects(
    cli, write_input, batch_project, scoring_frame, tmp_path, monkeypatch
):
    source = write_input(scoring_frame.head(20), "in.csv")
    before = source.read_bytes()
    monkeypatch.chdir(batch_project.root)
    same = tmp_path / "x.csv"
    result = cli.invoke(_app(), ["batch", "score", str(source), "--out", str(same),
                                 "--rejects", str(same)])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--out and --rejects both name" in result.output
    assert not same.exists()
    onto_input = cli.invoke(_app(), ["batch", "score", str(source), "--out", str(source)])
    assert onto_input.exit_code == 1, onto_input.output
    assert "--out: The output" in onto_input.output and "is the input file" in onto_input.output
    assert source.read_bytes() == before
    assert batch_project.store.count_predictions(route="batch") == 0


@pytest.mark.slow  # a real CLI process scoring a large file, stopped with SIGTERM
def test_a_run_stopped_with_sigterm_leaves_no_temporary_file(
    write_input, batch_project, scoring_frame, tmp_path
):
    big = pd.concat([scoring_frame] * max(1, 400_000 // len(scoring_frame)), ignore_index=True)
    source = write_input(big, "big.csv")
    root = str(batch_project.root)
    batch_project.close()
    stopped = []
    # a run that ends between the test seeing its temporary file and the signal arriving
    # (a fresh-clone run once scored all 396,000 rows in 2.5 s and exited 0) is tried again;
    # whatever happens, no temporary file may remain
    for attempt in range(3):
        folder = tmp_path / f"scores-{attempt}"
        folder.mkdir()
        proc = subprocess.Popen(
            [sys.executable, "-m", "steadyml", "--project", root, "batch", "score", str(source),
             "--out", str(folder / "out.csv"), "--chunk-rows", "2000", "--no-log"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if any(".tmp-" in p.name for p in folder.iterdir()):
                    break
                time.sleep(0.02)
            assert proc.poll() is None, "the run ended before it could be stopped"
            assert any(".tmp-" in p.name for p in folder.iterdir())
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=60)
        assert not [p for p in folder.iterdir() if ".tmp-" in p.name], output
        if proc.returncode != 0:
            assert list(folder.iterdir()) == [], output
            stopped.append(attempt)
            break
        assert (folder / "out.csv").exists(), output  # it finished first: a whole output
    assert stopped, "no run was stopped by SIGTERM in three tries"


def test_score_names_a_looping_input_or_output_path(cli, batch_project, tmp_path, monkeypatch):
    monkeypatch.chdir(batch_project.root)
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    result = cli.invoke(_app(), ["batch", "score", str(loop), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1, result.output
    assert f"Error: INPUT: Cannot open '{loop}': a symbolic link in this path loops" in (
        result.output
    )
    assert "bug" not in result.output
    proc = cli.invoke(_app(), ["batch", "score", "/proc/self/status", "--out", "o.csv"])
    assert proc.exit_code == 1 and "Error: INPUT: '/proc/self/status' (it leads" in proc.output
    assert "is a file the operating system makes up" in proc.output
    source = tmp_path / "in.csv"
    source.write_text("customer_id\n1\n", encoding="utf-8")
    out = cli.invoke(_app(), ["batch", "score", str(source), "--out", str(loop / "o.csv")])
    assert out.exit_code == 1, out.output
    assert "Error: --out: Cannot write to" in out.output and "bug" not in out.output
