"""``steadyml alerts report ID``: the incident's draft write-up from a real project's store
(SQLite, real artifacts): the alert, its acknowledgement, the retrain its trigger ran, an
overridden promotion and the rollback, in time order, then the blanks for a person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import steadyml
from steadyml.store.monitoring import AlertFiring
from steadyml.worker import run_job

Invoke = Any  # the invoke fixture (tests/cli/conftest.py)
RULE = "performance drop"  # a rule of the sample project


def raise_alert(project: Any, message: str = "Performance dropped: roc_auc 0.70") -> int:
    firing = AlertFiring(
        key=RULE, rule=RULE, metric="performance_drop", subject=None, severity="critical",
        owner="ds@example.com", value=0.1234, comparison=">", threshold=0.08,
        window_start=None, window_end=None, model_version=1, message=message,
        next_step="retrain with recent labelled data (steadyml retrain)",
    )  # fmt: skip
    alert, _ = project.store.record_firing(firing)
    return int(alert.id)


@pytest.mark.slow  # one real retrain (~10 s)
def test_the_report_has_the_alert_ack_retrain_override_and_rollback_in_order(
    trained_project_dir: Path, invoke: Invoke, tmp_path: Path
) -> None:
    root = trained_project_dir
    cfg = root / "steadyml.yaml"
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    raw["training"]["models"] = ["linear"]
    raw["retraining"] = {"triggers": {"alerts": [RULE]}}
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="the first release", by="ann")
        alert_id = raise_alert(project, "Performance <b>dropped</b>: roc_auc 0.70")
    ack = invoke("alerts", "ack", alert_id, "--by", "bo", "--note", "looking at the drift",
                 project=root)  # fmt: skip
    assert ack.exit_code == 0, ack.output
    with steadyml.open(root, env={}) as project:
        job = run_job(project, "retrain")  # the alert's trigger: a challenger, a decision
        assert job.ok and job.summary["retrained"], job.error
        outcome = job.summary["outcome"]
    assert outcome == "INCONCLUSIVE"  # no labelled live rows yet
    promote = invoke("models", "promote", "2", "--to", "production", "--override", "--reason",
                     "fresher data; labels will follow", "--by", "cy", project=root)  # fmt: skip
    assert promote.exit_code == 0, promote.output
    back = invoke("models", "rollback", "--reason", "errors went up", "--by", "bo", project=root)
    assert back.exit_code == 0, back.output

    result = invoke("alerts", "report", alert_id, project=root)
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith(f"# Incident report (draft): alert #{alert_id}, {RULE}\n")
    assert (
        "| performance drop | performance_drop | — | 0.123 | > 0.080 | not recorded | 1 |" in text
    )
    order = [
        "| Version 1 promoted to production |",
        "| Alert opened |",
        "| Alert acknowledged | looking at the drift | bo |",
        f"| Retrained: run {job.summary['run']}, challenger version 2 against version 1 | "
        "INCONCLUSIVE:",
        "| Retrained because of this alert |",
        "| Version 2 promoted to production (version 1 archived) | why: fresher data; labels "
        "will follow; override on the record: fresher data; labels will follow | cy |",
        "| Rolled back: version 1 in production again (version 2 archived) | why: errors went "
        "up | bo |",
    ]
    at = [text.index(line) for line in order]
    assert at == sorted(at), [line for _, line in sorted(zip(at, order, strict=True))]
    assert f"Triggered by: alert rule '{RULE}': alert {alert_id} (acknowledged)" in text
    assert "Performance &lt;b>dropped&lt;/b>: roc_auc 0.70" in text  # shown, not rendered
    assert "<b>" not in text
    assert "- **Acknowledged:** " in text and " by bo: looking at the drift" in text
    assert "- **Rolled back:** " in text and "version 1 back in production (from version 2)" in text
    assert "- **Retrained:** " in text and "- **Resolved:** not in this period." in text
    for blank in ("## Cause (TO FILL IN)", "## Impact (TO FILL IN)",
                  "## Lessons and follow-up (TO FILL IN)"):  # fmt: skip
        assert blank in text

    page = tmp_path / "incident.html"
    written = invoke("alerts", "report", alert_id, "--out", page, project=root)
    assert written.exit_code == 0, written.output
    assert "a draft. Fill in the cause" in " ".join(written.output.split())
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "Rolled back: version 1" in html
    assert "Performance &lt;b&gt;dropped&lt;/b&gt;" in html  # escaped, never markup
    assert "<script" not in html and "http://" not in html and "https://" not in html
    md = tmp_path / "incident.md"
    invoke("alerts", "report", alert_id, "--out", md, project=root)

    def undated(report: str) -> list[str]:  # the lines saying when the draft was made
        # ("from the metadata store …"; an open period ends "until now", a second later in
        # the second draft, as a fresh-clone run found)
        return [
            line
            for line in report.splitlines()
            if "from the metadata store" not in line and "until now" not in line
        ]

    assert undated(md.read_text(encoding="utf-8")) == undated(text)


def test_a_fresh_alert_says_nothing_was_done_yet(trained_project_dir: Path, invoke: Invoke) -> None:
    with steadyml.open(trained_project_dir, env={}) as project:
        alert_id = raise_alert(project)
    text = invoke("alerts", "report", alert_id, project=trained_project_dir).output
    for done in ("Acknowledged", "Rolled back", "Retrained", "Resolved"):
        assert f"- **{done}:** not in this period." in text
    assert "(still open: until now)" in text
    missing = invoke("alerts", "report", "99", project=trained_project_dir)
    assert missing.exit_code == 1 and "There is no alert 99 in this project." in missing.output
