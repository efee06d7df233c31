"""The command line, checked through the library: exit codes, exact messages, effects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app


def run(cli: CliRunner, *args: str):  # type: ignore[no-untyped-def]
    return cli.invoke(app, list(args), catch_exceptions=False)


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from steadyml.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'sklearn', 'fastapi', 'sqlalchemy', 'pandera', 'numpy')"
        " if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in proc.stdout, proc.stdout


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "steadyml", "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == f"steadyml {steadyml.__version__}"


def _commands(cmd, prefix=()):  # type: ignore[no-untyped-def]
    for name, sub in getattr(cmd, "commands", {}).items():
        yield (*prefix, name), sub
        yield from _commands(sub, (*prefix, name))


def test_every_command_has_help(cli: CliRunner) -> None:
    from typer.main import get_command

    seen = []
    for path, sub in _commands(get_command(app)):
        result = run(cli, *path, "--help")
        assert result.exit_code == 0, path
        assert (sub.help or "").strip(), f"steadyml {' '.join(path)} has no help text"
        assert "Usage:" in result.output
        seen.append(" ".join(path))
    assert {"init", "demo", "data", "data check", "data snapshot", "data versions"} <= set(seen)


def test_init_template_then_check_and_snapshot(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEADYML_STORE_URL", raising=False)
    target = tmp_path / "p"
    from steadyml.flows.plan import init_from_template

    init_from_template(target, "churn", n_customers=1500, months=4)
    monkeypatch.chdir(target)

    result = run(cli, "data", "check", "--json")
    assert result.exit_code == 1  # the planted leak must be fixed first
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["contract"]["created"] is True
    assert [f["column"] for f in payload["findings"] if f["severity"] == "error"] == [
        "cancellation_reason"
    ]

    result = run(cli, "data", "snapshot")
    assert result.exit_code == 0
    assert result.stdout.startswith("Recorded dataset version 1 (")
    result = run(cli, "data", "snapshot")
    assert result.stdout.startswith("Unchanged: this data is already dataset version 1 (")

    with steadyml.open(target, env={}) as project:
        assert [v.version for v in project.dataset_versions()] == [1]
        assert len(project.store.list_checks()) == 1

    result = run(cli, "data", "versions", "--json")
    (version,) = json.loads(result.stdout)
    assert version["version"] == 1 and version["rows"] == 6000


def test_cli_init_template_writes_a_valid_project(cli: CliRunner, tmp_path: Path) -> None:
    result = run(cli, "init", str(tmp_path / "x"), "--template", "churn", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rows"] >= 20_000 * 12 * 0.9
    project = steadyml.open(tmp_path / "x", env={})
    assert project.config.project.name == "x"
    frame = pd.read_csv(project.data_path(), usecols=["customer_id", "snapshot_month"])
    assert frame["customer_id"].nunique() >= 20_000
    assert frame["snapshot_month"].nunique() == 12


def test_init_refuses_to_overwrite(cli: CliRunner, tmp_path: Path) -> None:
    from steadyml.flows.plan import init_from_template

    init_from_template(tmp_path / "p", "churn", n_customers=500, months=2)
    result = cli.invoke(app, ["init", str(tmp_path / "p"), "--template", "churn"])
    assert result.exit_code == 1
    assert "Error: " in result.stderr
    assert "already exists; steadyml will not overwrite a project file." in result.stderr
    assert "--force" in result.stderr


def test_init_from_data_then_check(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    n = 400
    words = (
        "left at the door customer asked for a call before delivery package was "
        "damaged sent again late early friendly driver"
    ).split()
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i:05d}" for i in range(n)],
            "placed": pd.date_range("2025-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "amount": rng.gamma(2, 30, n).round(2),
            "store_code": rng.choice([101, 205, 330], n),
            "items": rng.integers(1, 9, n),
            "note": [" ".join(rng.choice(words, rng.integers(5, 12))) for _ in range(n)],
            "returned": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
        }
    )
    frame.loc[rng.choice(n, 30, replace=False), "amount"] = np.nan
    src = tmp_path / "orders.csv"
    frame.to_csv(src, index=False)
    result = run(cli, "init", str(tmp_path / "orders"), "--data", str(src), "--target", "returned")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "orders" / "steadyml.yaml").read_text(encoding="utf-8")
    assert "# " in text  # each role carries a reason
    project = steadyml.open(tmp_path / "orders", env={})
    roles = project.config.data.roles()
    assert roles.id == "order_id" and roles.timestamp == "placed"
    assert "store_code" in roles.categorical and "amount" in roles.numeric
    assert "note" in roles.text
    rules = {r.metric for r in project.config.monitoring.alerts}  # starting alert rules
    assert {"drift:*", "missing_increase:*", "performance_drop", "error_rate"} <= rules
    monkeypatch.chdir(tmp_path / "orders")
    result = run(cli, "data", "check", "--json")
    assert result.exit_code == 0, result.output
    assert "Not written yet in steadyml.yaml: project.problem, project.users" in result.stderr
    assert "owners.release_approver" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["task"] == "classification"
    assert payload["rows"] == n


def test_usage_errors_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["init", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "give either --template NAME" in result.output
    result = cli.invoke(app, ["init", str(tmp_path / "x"), "--data", "a.csv"])
    assert result.exit_code == 2
    assert "--data needs --target COL" in result.output
    result = cli.invoke(app, ["data", "chekc"])
    assert result.exit_code == 2


def test_outside_a_project_says_what_to_do(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STEADYML_PROJECT", raising=False)
    result = cli.invoke(app, ["data", "check"])
    assert result.exit_code == 1
    assert f"Error: No project file at {tmp_path.resolve() / 'steadyml.yaml'}." in result.stderr
    assert "steadyml demo" in result.stderr


def test_bad_project_file_lists_each_problem(cli: CliRunner, project_dir: Path) -> None:
    cfg = project_dir / "steadyml.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("mode: batch", "mode: nightly"), encoding="utf-8"
    )
    result = cli.invoke(app, ["--project", str(project_dir), "data", "check"])
    assert result.exit_code == 1
    assert "Error: steadyml.yaml has 1 problem:" in result.stderr
    assert "project.mode: got 'nightly'; allowed: realtime, batch, both." in result.stderr


def test_verbose_shows_the_traceback(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["--verbose", "--project", str(tmp_path), "data", "check"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    quiet = cli.invoke(app, ["--project", str(tmp_path), "data", "check"])
    assert "Traceback" not in quiet.stderr
    assert "--verbose" in quiet.stderr


def test_unused_sections_are_announced(cli: CliRunner, project_dir: Path) -> None:
    cfg = project_dir / "steadyml.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8") + "\nretraining:\n  promotion: manual\n", encoding="utf-8"
    )
    result = cli.invoke(app, ["--project", str(project_dir), "data", "versions"])
    assert result.exit_code == 0
    assert "Note: Section 'retraining' is checked but not used yet" in result.stderr


def test_demo_runs_and_shows_the_leak_caught(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["demo", str(tmp_path / "demo"), "--customers", "6000"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "The planted leak was caught: 'cancellation_reason'" in out
    assert "Checked again: fit to train on" in out
    assert "records nothing new" in out
    assert "Gates: passed" in out
    assert "Training again with nothing changed: up to date" in out
    assert "promoted to production by head-of-retention@example.com" in out
    assert "HTTP 422 — 1 problem in the request: records[0].tenure_months" in out
    assert "HTTP 401" in out
    assert "Stopped the server cleanly (SIGTERM). The prediction log holds 3 prediction(s)" in out
    assert "Read 2,000 rows: 1,997 scored, 3 rejected (2,000 = 1,997 + 3)." in out
    assert (tmp_path / "demo" / "data" / "new-customers.scored.rejects.csv").exists()
    assert (tmp_path / "demo" / "model-card.html").exists()
    with steadyml.open(tmp_path / "demo", env={}) as project:
        assert [v.version for v in project.dataset_versions()] == [1]
        assert [c.passed for c in project.store.list_checks()] == [False, True]
        assert project.production().version == 1
        # step 6 scored 1,997 rows; step 7 adds four weeks through the API and in batches
        assert project.store.count_predictions(route="live", answered=True) > 3
        assert project.store.count_predictions(route="batch", answered=True) > 1997
        assert project.store.count_predictions(answered=False) > 0  # refused rows are kept
        assert any(a.key == "feature drift|monthly_charges" for a in project.alerts())
    assert "Step 7 · Watch it" in out
    assert "waiting for labels" in out
    assert "alert(s) raised and sent to the log channel" in out
    report = (tmp_path / "demo" / "monitor-report.html").read_text(encoding="utf-8")
    assert "<script src=" not in report
    # a second run starts fresh in the same folder and still ends well
    again = cli.invoke(app, ["demo", str(tmp_path / "demo"), "--customers", "1500"])
    assert again.exit_code == 0, again.output
    with steadyml.open(tmp_path / "demo", env={}) as project:
        assert len(project.runs()) == 1


def test_demo_refuses_a_folder_it_did_not_make(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine", encoding="utf-8")
    result = cli.invoke(app, ["demo", str(tmp_path / "mine")])
    assert result.exit_code == 1
    assert "was not made by `steadyml demo`; the demo will not touch it" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").exists()
