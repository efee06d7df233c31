"""Following only the "Next:" hints walks the whole loop, from init to monitor.

The walk takes the first ``steadyml …`` command of each "Next:" list, fills the two
placeholders the hints show (``FILE``: a file to score; ``OUTCOMES.csv``: the true outcomes)
and runs it in process; ``cd DIR`` is done, and ``steadyml serve`` (which replaces the
process) is noted and skipped for the hint after it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from steadyml.cli._next import after_release
from steadyml.config import ProjectConfig, parse_config

Invoke = Callable[..., Result]  # the fixtures of conftest.py

# Each command by its name (the words before the first argument or option).
WORDS = {"data", "models", "batch", "keys", "alerts", "runs", "traffic"}


def _next_commands(stdout: str) -> list[str]:
    """The lines of the last "Next:" list, comments removed."""
    _, found, steps = stdout.rpartition("\nNext:\n")
    assert found, f"no 'Next:' in:\n{stdout}"
    lines = [line.strip() for line in steps.splitlines() if line.startswith("  ")]
    return [line.split("   #")[0].split("  #")[0].strip() for line in lines]


def _name(argv: list[str]) -> str:
    return " ".join(argv[1:3]) if argv[1] in WORDS else argv[1]


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Training data (no leaking column), a newer month to score, and its outcomes."""
    from steadyml.samples.churn import LEAK_COLUMN, make_churn_history

    frame = make_churn_history(n_customers=300, months=4, seed=3).drop(columns=[LEAK_COLUMN])
    months = sorted(frame["snapshot_month"].unique())
    history, newest = (
        frame[frame.snapshot_month < months[-1]],
        frame[frame.snapshot_month == months[-1]],
    )
    data, batch, outcomes = tmp_path / "customers.csv", tmp_path / "new.csv", tmp_path / "out.csv"
    history.to_csv(data, index=False)
    newest.drop(columns=["churned"]).to_csv(batch, index=False)
    newest[["customer_id", "churned"]].to_csv(outcomes, index=False)
    return data, batch, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["batch", "realtime"])
def test_the_next_hints_alone_walk_the_whole_loop(
    invoke: Invoke, tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    data, batch, outcomes = _files(tmp_path)
    fill = {"FILE": str(batch), "OUTCOMES.csv": str(outcomes)}
    project = tmp_path / "proj"
    argv = ["steadyml", "init", str(project), "--data", str(data), "--target", "churned",
            "--id", "customer_id"]  # fmt: skip
    walked: list[str] = []
    pending: list[str] = []  # the hints after the one taken
    while True:
        name = _name(argv)
        walked.append(name)
        if name == "serve":  # it replaces the process: take the hint after it
            argv = shlex.split(pending.pop(0))
            continue
        result = invoke(*[fill.get(a, a) for a in argv[1:]])
        assert result.exit_code in ((0, 3) if name == "monitor" else (0,)), result.output
        if name == "monitor" or len(walked) > 12:
            break
        hints = _next_commands(result.stdout)
        if name == "init":
            assert hints[0] == f"cd {project}"
            monkeypatch.chdir(project)  # what the user does; files named in hints land here
            # "open steadyml.yaml: check each role…": the user picks the mode there
            config = project / "steadyml.yaml"
            text = config.read_text(encoding="utf-8")
            # …and writes the plan init left to them (the launch gate refuses a release
            # before), with a fallback for when the model cannot answer
            text = re.sub(r"(?m): \(not written yet\).*$", ": written by the user", text)
            text += "\nserving:\n  fallback: {strategy: constant, value: 0}\n"
            config.write_text(text.replace("mode: batch", f"mode: {mode}"), encoding="utf-8")
        commands = [h for h in hints if h.startswith("steadyml ")]
        argv, pending = shlex.split(commands[0]), commands[1:]

    scoring = ["batch score"] if mode == "batch" else ["keys create", "serve"]
    assert walked == ["init", "data check", "data snapshot", "train", "models promote",
                      *scoring, "feedback", "monitor"]  # fmt: skip


def _config(
    mode: str, auth: str = "api_key", id_column: str | None = "customer_id"
) -> ProjectConfig:
    return parse_config({
        "project": {"name": "p", "problem": "x", "prediction_target": "y", "users": "u",
                    "success_metric": {"name": "roc_auc", "threshold": 0.7}, "mode": mode},
        "owners": {"model": "a", "deployment": "b", "monitoring": "c", "release_approver": "d"},
        "data": {"source": "d.csv", "target": "churned", "id": id_column},
        "serving": {"auth": auth},
    })  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "auth", "has_key", "first"),
    [
        ("batch", "api_key", False, ["batch score FILE --out scores.csv"]),
        ("realtime", "api_key", False, ["keys create --name my-app --scopes predict", "serve"]),
        ("realtime", "api_key", True, ["serve"]),
        ("realtime", "none", False, ["serve"]),
        ("both", "api_key", False,
         ["batch score FILE --out scores.csv", "keys create --name my-app --scopes predict",
          "serve"]),
    ],
)  # fmt: skip
def test_after_a_release_the_hints_score_the_way_the_mode_says_then_watch(
    mode: str, auth: str, has_key: bool, first: list[str]
) -> None:
    steps = [s.split("   #")[0] for s in after_release(_config(mode, auth), 4, has_key=has_key)]
    assert steps == [
        *(f"steadyml {s}" for s in first),
        "steadyml feedback OUTCOMES.csv --id-column customer_id --label-column churned",
        "steadyml monitor",
        "steadyml models rollback --reason '…'",
    ]


def test_without_an_id_column_the_feedback_hint_shows_the_placeholder() -> None:
    (feedback,) = [s for s in after_release(_config("batch", id_column=None), 1, has_key=False)
                   if "feedback" in s]  # fmt: skip
    assert "--id-column ID --label-column churned" in feedback


def test_promote_to_production_leads_on_to_scoring_not_back_to_the_list(
    invoke: Invoke, released_project_dir: Path
) -> None:
    result = invoke("models", "promote", "2", "--to", "production", "--reason", "better",
                    project=released_project_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    hints = _next_commands(result.stdout)
    assert hints[0].startswith("steadyml batch score FILE --out scores.csv")
    assert "steadyml models list" not in hints
    assert any("--id-column customer_id --label-column churned" in h for h in hints)
