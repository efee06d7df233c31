"""Attestations (who, when, a note) score half a point until they expire; the command's
report, JSON and HTML page; the score as the paper computes it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app
from steadyml.errors import SteadyMLError
from steadyml.flows.checklist import band


def _item(result, item_id):  # type: ignore[no-untyped-def]
    return next(i for i in [*result.tests, *result.launch] if i.id == item_id)


def test_an_attestation_scores_half_until_it_expires(trained_project_dir: Path) -> None:
    with steadyml.open(trained_project_dir, env={}) as project:
        before = _item(project.checklist(), "infra-6")
        assert before.status == "fail" and before.points == 0
        at = dt.datetime.now(dt.UTC)
        done = project.attest("infra-6", note="canaried by hand, runbook R-3", by="ann", now=at)
        assert done.expires_at == at + dt.timedelta(days=180)
        item = _item(project.checklist(), "infra-6")
        assert (item.status, item.how, item.points) == ("pass", "attested", 0.5)
        assert "Attested by ann" in item.evidence and "runbook R-3" in item.evidence
        assert item.fix  # the automated point is still to earn
        later = project.checklist(now=at + dt.timedelta(days=181))
        expired = _item(later, "infra-6")
        assert (expired.status, expired.points) == ("fail", 0)
        review = _item(project.checklist(), "privacy_fairness")
        assert review.status == "not measured yet"
        project.attest("privacy_fairness", note="reviewed with legal", by="bo")
        assert _item(project.checklist(), "privacy_fairness").how == "attested"


def test_the_attestation_period_comes_from_the_project_file(trained_project_dir: Path) -> None:
    path = trained_project_dir / "steadyml.yaml"
    path.write_text(path.read_text(encoding="utf-8")
                    + "\nlaunch:\n  attestation_expires: 7d\n", encoding="utf-8")  # fmt: skip
    with steadyml.open(trained_project_dir, env={}) as project:
        at = dt.datetime.now(dt.UTC)
        done = project.attest("data-2", note="ablation in PR 31", by="ann", now=at)
        assert done.expires_at == at + dt.timedelta(days=7)
        assert _item(project.checklist(now=at + dt.timedelta(days=6)), "data-2").how == "attested"
        assert _item(project.checklist(now=at + dt.timedelta(days=8)), "data-2").how == ""


def test_an_unknown_item_or_an_empty_note_is_refused(trained_project_dir: Path) -> None:
    with steadyml.open(trained_project_dir, env={}) as project:
        with pytest.raises(SteadyMLError) as caught:
            project.attest("data-9", note="x", by="ann")
        assert caught.value.field == "item" and "data-1" in (caught.value.hint or "")
        with pytest.raises(SteadyMLError) as empty:
            project.attest("data-2", note="  ", by="ann")
        assert empty.value.field == "note"


def test_the_score_is_the_lowest_section_and_the_bands_are_the_papers() -> None:
    assert band(0).startswith("More of a research project")
    assert band(0.5).startswith("Not totally untested")
    assert band(1).startswith("Not totally untested")
    assert band(2).startswith("There's been a first pass")
    assert band(3).startswith("Reasonably tested")
    assert band(4.5).startswith("Strong levels")
    assert band(5.5).startswith("Exceptional")


def test_the_command_reports_json_and_html(trained_project_dir: Path, cli: CliRunner) -> None:
    root = ["--project", str(trained_project_dir)]
    attest = cli.invoke(app, [*root, "checklist", "attest", "data-2", "--note", "ablation"])
    assert attest.exit_code == 0, attest.output
    assert "Attested data-2 by" in attest.stdout and "½ point until" in attest.stdout
    page = trained_project_dir / "checklist.html"
    shown = cli.invoke(app, [*root, "checklist", "--html", str(page)])
    assert shown.exit_code == 0, shown.output
    assert "ML Test Score:" in shown.stdout and "Written:" in shown.stdout
    assert "A promotion to production is allowed" in shown.stdout or "refused" in shown.stdout
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "Launch checklist" in html and "data-2" in html
    data = json.loads(cli.invoke(app, [*root, "checklist", "--json"]).stdout)
    assert len(data["tests"]) == 28
    assert data["score"] == min(data["sections"].values())
    for section, points in data["sections"].items():
        assert points == sum(t["points"] for t in data["tests"] if t["section"] == section)
    attested = next(t for t in data["tests"] if t["id"] == "data-2")
    assert attested["how"] in ("attested", "automated")
    assert {i["id"] for i in data["launch"]} >= {"plan", "rollback_path", "privacy_fairness"}
