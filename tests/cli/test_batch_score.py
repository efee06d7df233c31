"""``steadyml batch score``'s summary: rows rejected for a broken rule apart from rows scored
with a warning for a broken expectation, the warnings by kind, and how to change either."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from typer.testing import Result

import steadyml

Invoke = Callable[..., Result]  # the fixtures of conftest.py


def _new_customers(root: Path) -> Path:
    """60 rows of the project's data without the answer: one breaks a rule (a type), two
    break expectations (an unseen plan, a tenure above the training range)."""
    with steadyml.open(root, env={}) as project:
        frame = project.load_snapshot(1).head(60).drop(columns=["churned"])
    frame = frame.astype(str)
    frame.loc[3, "tenure_months"] = "abc"
    frame.loc[5, "contract"] = "lifetime"
    frame.loc[8, "tenure_months"] = "900"
    path = root / "new.csv"
    frame.to_csv(path, index=False)
    return path


def test_summary_counts_rejected_rows_and_rows_scored_with_warnings(
    invoke: Invoke, released_project_dir: Path
) -> None:
    source = _new_customers(released_project_dir)
    out = released_project_dir / "scored.csv"
    result = invoke("batch", "score", source, "--out", out, project=released_project_dir)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Read 60 rows: 59 scored, 1 rejected (written to" in text
    assert "; 2 scored with warnings (see the _warnings column)." in text
    assert "tenure_months: wrong type" in text  # the rejects table
    assert "scored with a warning" in text  # the warnings table, by kind
    assert "set batch.on_unexpected: refuse in steadyml.yaml" in text
    assert "edit the rules in contract.yaml" in text and "widen" not in text
    scored = pd.read_csv(out, keep_default_na=False)
    assert len(scored) == 59 and (scored["_warnings"] != "").sum() == 2


def test_refusing_the_unexpected_rejects_those_rows_too(
    invoke: Invoke, released_project_dir: Path
) -> None:
    cfg = released_project_dir / "steadyml.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nbatch:\n  on_unexpected: refuse\n")
    source = _new_customers(released_project_dir)
    out = released_project_dir / "scored.csv"
    result = invoke("batch", "score", source, "--out", out, project=released_project_dir)
    assert result.exit_code == 0, result.output
    assert "Read 60 rows: 57 scored, 3 rejected (written to" in result.stdout
    assert "scored with warnings" not in result.stdout
