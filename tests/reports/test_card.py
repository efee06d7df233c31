"""The model card renders every section, formats numbers, escapes what it must and links
nowhere: Markdown for the repository, one self-contained HTML page for people."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from steadyml.reports import render_card_html, render_card_markdown
from steadyml.reports._format import (
    as_list,
    as_map,
    first_few,
    fmt_bytes,
    fmt_date,
    fmt_diff,
    fmt_metric,
    fmt_ms,
    fmt_pct,
    is_better,
    lower_is_better,
    md_cell,
)
from steadyml.reports.card import SECTIONS

EVIL = "<script>alert(1)</script>"

HEADINGS = [title for _, title, _ in SECTIONS]


def make_card() -> dict[str, Any]:
    """A realistic binary-classification card: churn with segments and a fairness check."""
    return {
        "project": {
            "name": "churn",
            "problem": "Customers leave without warning; the retention team calls too late.",
            "prediction_target": "churned (will the customer cancel in the next 30 days?)",
            "users": "The retention team, once a week",
            "mode": "batch",
            "mode_reason": "The team works from a weekly call list, so nobody needs an answer in seconds.",
            "success_metric": {"name": "roc_auc", "threshold": 0.75, "direction": "higher"},
        },
        "owners": {
            "model": "Ana (data science)",
            "deployment": "Ben (platform)",
            "monitoring": "Chloé (retention analytics)",
            "release_approver": None,
        },
        "model": {
            "version": 3,
            "stage": "production",
            "created_at": "2024-05-02T09:15:00+00:00",
            "created_by": "ana",
            "model_type": "LogisticRegression",
            "task": "classification",
            "digest": "a3f1" + "0" * 56 + "beef",
            "size_bytes": 3_456_789,
            "run_id": 12,
            "code_commit": "9c1e2d3f4a5b6c7d8e9f00112233445566778899",
            "code_dirty": True,
        },
        "data": {
            "version": 2,
            "content_hash": "d" * 64,
            "rows": 7043,
            "columns": 21,
            "source": "data/churn.csv",
            "split": {
                "method": "stratified",
                "test_size": 0.2,
                "seed": 42,
                "train_rows": 5634,
                "test_rows": 1409,
                "stratify": "churned",
            },
        },
        "features": [
            {"name": "tenure_months", "role": "numeric"},
            {"name": "monthly_charges", "role": "numeric"},
            {"name": "contract", "role": "categorical"},
        ],
        "excluded": [
            {"name": "customer_id", "role": "id", "reason": "An identifier, not a signal."},
            {"name": "gender", "role": "sensitive", "reason": "Protected attribute | never used."},
            {"name": "cancel_date", "role": "leakage", "reason": "Only known after the outcome."},
        ],
        "metrics": {
            "primary": "roc_auc",
            "direction": "higher",
            "model": {
                "roc_auc": 0.84213,
                "accuracy": 0.80512,
                "f1": 0.6012,
                "log_loss": 0.4123,
                "threshold": 0.5,
                "confusion_matrix": {"labels": ["no", "yes"], "matrix": [[930, 105], [170, 204]]},
            },
            "baseline": {
                "roc_auc": 0.5,
                "accuracy": 0.7346,
                "f1": 0.0,
                "log_loss": 0.5786,
                "confusion_matrix": {"labels": ["no", "yes"], "matrix": [[1035, 0], [374, 0]]},
            },
        },
        "gates": {
            "passed": False,
            "checks": [
                {
                    "name": "beats_baseline",
                    "passed": True,
                    "value": 0.342,
                    "threshold": 0.0,
                    "message": "roc_auc beats the baseline by 0.342.",
                },
                {
                    "name": "fairness_gap",
                    "passed": False,
                    "value": 0.121,
                    "threshold": 0.1,
                    "message": "The roc_auc gap across senior_citizen is 0.121 (limit 0.1).",
                },
            ],
        },
        "segments": {
            "contract": {
                "month-to-month": {"n": 780, "too_few": False, "roc_auc": 0.7712, "accuracy": 0.71},
                "one year": {"n": 300, "too_few": False, "roc_auc": 0.80, "accuracy": 0.88},
                "two year|legacy": {"n": 12, "too_few": True, "roc_auc": None, "accuracy": 0.99},
            }
        },
        "fairness": {
            "senior_citizen": {
                "groups": {
                    "0": {"n": 1180, "too_few": False, "roc_auc": 0.8512},
                    "1": {"n": 229, "too_few": False, "roc_auc": 0.7301},
                },
                "gap": 0.1211,
                "demographic_parity_difference": 0.154,
            }
        },
        "latency": {"one_row_ms": 2.345, "thousand_rows_ms": 18.9},
        "limitations": ["The roc_auc gap across senior_citizen is 0.121 (limit 0.1)."],
        "history": [
            {
                "version": 1,
                "stage": "archived",
                "created_at": "2024-04-01T10:00:00+00:00",
                "primary_metric": 0.79,
            },
            {
                "version": 2,
                "stage": "staging",
                "created_at": "2024-04-20T10:00:00+00:00",
                "primary_metric": None,
            },
            {
                "version": 3,
                "stage": "production",
                "created_at": "2024-05-02T09:15:00+00:00",
                "primary_metric": 0.84213,
            },
        ],
        "events": [
            {
                "at": "2024-05-03T08:00:00+00:00",
                "action": "promote",
                "from_version": 1,
                "to_version": 3,
                "by": "dana",
                "reason": "Beats v1 on last month's data.",
            }
        ],
    }


@pytest.fixture
def card() -> dict[str, Any]:
    return make_card()


@pytest.fixture
def regression_card(card: dict[str, Any]) -> dict[str, Any]:
    """A first regression version: nothing checked for groups, no scores, no events."""
    reg = copy.deepcopy(card)
    reg["project"].update(
        name="house-price",
        prediction_target="price",
        mode="real-time",
        success_metric={"name": "mae", "threshold": 25000, "direction": "lower"},
    )
    reg["model"].update(
        task="regression",
        stage="staging",
        version=1,
        code_commit=None,
        code_dirty=False,
        size_bytes=900,
    )
    reg["metrics"] = {
        "primary": "mae",
        "direction": "lower",
        "model": {"mae": None, "rmse": None, "r2": None},
        "baseline": {"mae": 41000.5, "rmse": None, "r2": 0.0},
    }
    reg["gates"] = {"passed": True, "checks": []}
    reg["excluded"] = []
    reg.update(segments={}, fairness={}, limitations=[], history=[], events=[])
    reg["latency"] = {"one_row_ms": None, "thousand_rows_ms": None}
    return reg


def test_markdown_has_every_section_in_order_and_the_primary_metric(card: dict[str, Any]) -> None:
    md = render_card_markdown(card)

    assert md.startswith("# Model card: churn v3 `PRODUCTION`")
    positions = [md.index(f"\n## {title}\n") for title in HEADINGS]
    assert positions == sorted(positions)
    assert "| **roc auc (primary)** | **0.842** | 0.500 | **+0.342** | model |" in md


def test_every_section_says_what_it_is_for(card: dict[str, Any]) -> None:
    md = render_card_markdown(card)
    html = render_card_html(card)

    for _, title, intro in SECTIONS:
        assert f"## {title}\n\n_{intro}_" in md
        assert intro in html


def test_markdown_formats_numbers(card: dict[str, Any]) -> None:
    md = render_card_markdown(card)

    assert "| accuracy | 0.805 | 0.735 | +0.071 | model |" in md
    # lower log loss is better, so the model wins with a negative difference
    assert "| log loss | 0.412 | 0.579 | -0.166 | model |" in md
    assert "7,043 rows, 21 columns" in md
    assert "20% held out for testing (seed 42): 5,634 training rows, 1,409 test rows" in md
    assert "content hash `dddddddddddd`" in md
    assert "| Model file size | 3.3 MB |" in md
    assert "| Latency, one row | 2.3 ms |" in md
    assert (
        "| 2024-05-03 08:00 UTC | promote | v1 → v3 | dana | Beats v1 on last month's data. |" in md
    )
    assert "| v2 | staging | 2024-04-20 10:00 UTC | — |" in md
    assert "| **v3 (this card)** | production |" in md


def test_success_metric_verdict(card: dict[str, Any], regression_card: dict[str, Any]) -> None:
    assert "roc auc at least 0.750. This version scores 0.842, so it **meets the target**" in (
        render_card_markdown(card)
    )
    card["metrics"]["model"]["roc_auc"] = 0.7
    assert "so it **does not meet the target**" in render_card_markdown(card)
    assert "mae at most 25,000.000" in render_card_markdown(regression_card)
    assert "cannot be checked yet" in render_card_markdown(regression_card)


def test_non_scalar_metrics_stay_out_of_the_table_and_the_matrix_gets_its_own(
    card: dict[str, Any],
) -> None:
    md = render_card_markdown(card)

    assert "confusion_matrix" not in md and "confusion matrix |" not in md
    assert "| threshold |" not in md
    assert "Decision threshold: 0.500." in md
    assert "| Actual \\ Predicted | no | yes |" in md
    assert "| **yes** | 170 | 204 |" in md
    assert "80.5% of 1,409 test rows correct" in md


def test_markdown_escapes_pipes_in_table_values(card: dict[str, Any]) -> None:
    md = render_card_markdown(card)

    assert "Protected attribute \\| never used." in md
    assert "| two year\\|legacy | 12 (too few to judge) |" in md
    # every table row still has the number of columns of its header
    for block in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M):
        rows = block.strip().splitlines()
        widths = {len(re.split(r"(?<!\\)\|", r)) for r in rows}
        assert len(widths) == 1, rows


def test_sensitive_columns_are_explained(card: dict[str, Any]) -> None:
    md = render_card_markdown(card)

    assert "Sensitive columns (gender) are never used to make predictions" in md
    assert "The **gap** is the difference" in md
    assert "**Gap:** 0.121" in md
    assert "Demographic parity difference: 0.154" in md


def test_limitations_always_include_the_data_horizon(
    card: dict[str, Any], regression_card: dict[str, Any]
) -> None:
    standing = (
        "Trained on data version 2 up to 2024-05-02 (7,043 rows); it has not seen data after that."
    )
    md = render_card_markdown(card)
    assert "- The roc_auc gap across senior_citizen is 0.121 (limit 0.1)." in md
    assert standing in md

    reg = render_card_markdown(regression_card)
    assert "- No limitations were recorded by the checks." in reg
    assert standing in reg


def test_empty_lists_and_missing_values_render_sensible_text(
    regression_card: dict[str, Any],
) -> None:
    md = render_card_markdown(regression_card)
    html = render_card_html(regression_card)

    for text in (
        "No deployment events yet.",
        "This is the first version.",
        "No segments were checked for this version.",
        "No fairness check was run",
        "No gate checks were recorded.",
        "No columns were excluded.",
    ):
        assert text in md
        assert text in html
    assert "| **mae (primary)** | **—** | 41,000.500 | **—** | — |" in md
    assert "| Latency, one row | — |" in md
    assert "| Model file size | 900 bytes |" in md
    assert "No code commit was recorded" in md
    assert "None" not in md


def test_owners_left_unnamed_are_called_out(card: dict[str, Any]) -> None:
    md = render_card_markdown(card)

    assert "| Release approver | **nobody named yet** |" in md
    assert "| Monitoring owner | Chloé (retention analytics) |" in md


def test_html_is_self_contained(card: dict[str, Any], regression_card: dict[str, Any]) -> None:
    for c in (card, regression_card):
        html = render_card_html(c)
        assert html.lstrip().lower().startswith("<!doctype html>")
        assert "http://" not in html and "https://" not in html
        assert "<script" not in html.lower()
        assert "url(" not in html
        assert "@import" not in html
        # the only links are to anchors on the page itself
        assert not re.search(r"""\b(?:src|href|action)\s*=\s*(?!["']?#)""", html)
        assert re.search(r'href="#purpose"', html)
        assert "<style>" in html


def test_html_escapes_what_the_card_holds(card: dict[str, Any]) -> None:
    card["events"][0]["reason"] = EVIL
    card["project"]["name"] = 'churn"><img onerror=x>'
    card["excluded"][0]["reason"] = EVIL
    card["segments"]["contract"][EVIL] = {"n": 5, "too_few": True}

    html = render_card_html(card)

    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html


def test_html_shows_sections_and_highlights_the_primary_metric(card: dict[str, Any]) -> None:
    html = render_card_html(card)

    assert "<title>Model card: churn v3</title>" in html
    for key, title, _ in SECTIONS:
        assert f'<h2 id="{key}">' in html
        assert title in html
    assert re.search(r'<tr class="primary">\s*<th scope="row">roc auc', html)
    assert "0.842" in html and "+0.342" in html
    assert 'class="badge stage-production"' in html


def test_rendering_does_not_change_the_card(card: dict[str, Any]) -> None:
    before = copy.deepcopy(card)

    render_card_markdown(card)
    render_card_html(card)

    assert card == before


def test_a_card_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(TypeError, match=r"card must be a mapping\. Got list instead\."):
        render_card_markdown([])  # type: ignore[arg-type]


def test_html_draws_model_and_baseline_bars(card: dict[str, Any]) -> None:
    html = render_card_html(card)

    assert '<div class="bar model" style="width: 84.2%"></div>' in html
    assert '<div class="bar base" style="width: 50.0%"></div>' in html


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (fmt_bytes, 512, "512 bytes"),
        (fmt_bytes, 2048, "2.0 KB"),
        (fmt_bytes, 3_456_789, "3.3 MB"),
        (fmt_metric, 0.12345, "0.123"),
        (fmt_metric, None, "—"),
        (fmt_metric, float("nan"), "—"),
        (fmt_diff, -0.0004, "0.000"),
        (fmt_pct, 0.25, "25%"),
        (fmt_ms, 1500.0, "1.50 s"),
        (fmt_date, "not a date", "not a date"),
        (fmt_date, "2024-05-01T10:00:00", "2024-05-01 10:00"),
        (md_cell, "a|b\nc", "a\\|b c"),
    ],
)
def test_formatting_helpers(func: Any, value: Any, expected: str) -> None:
    assert func(value) == expected


def test_shared_helpers_read_gaps_and_directions() -> None:
    assert as_map(None) == {} and as_map({"a": 1}) == {"a": 1}
    assert as_list("abc") == [] and as_list((1, 2)) == [1, 2]
    assert first_few(["a", "b", "c", "d", "e"], 3) == "a, b, c and 2 more"
    assert first_few(["a"], 3) == "a"
    assert lower_is_better("log_loss") and lower_is_better("mean_error")
    assert not lower_is_better("roc_auc") and lower_is_better("roc_auc", "minimize")
    assert is_better(0.2, 0.3, lower=True) is True and is_better(0.2, 0.3, lower=False) is False
    assert is_better(0.3001, 0.3, lower=True) is None  # equal to 3 decimals
