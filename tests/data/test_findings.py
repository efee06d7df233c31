"""One finding maker for every data check."""

from __future__ import annotations

from steadyml.data.findings import make_finding
from steadyml.data.leakage import check_leakage
from steadyml.data.quality import quality_report
from steadyml.entities import Finding, Roles


def test_make_finding_keeps_extra_keywords_as_details() -> None:
    finding = make_finding(
        "quality", "warning", "outliers", "Column 'x' ...", "x", "why", "fix", count=3
    )
    assert finding == Finding(
        check="quality",
        rule="outliers",
        severity="warning",
        message="Column 'x' ...",
        column="x",
        why="why",
        fix="fix",
        details={"count": 3},
    )


def test_quality_and_leakage_findings_name_their_check() -> None:
    import pandas as pd

    frame = pd.DataFrame({"x": [1, 1, 2, 3] * 20, "y": [0, 1, 0, 1] * 20})
    frame["leak"] = frame["y"]
    quality = quality_report(frame, Roles(target="y"))
    leakage = check_leakage(frame, Roles(target="y", numeric=("x", "leak")), task="classification")
    assert quality.findings and {f.check for f in quality.findings} == {"quality"}
    assert leakage and {f.check for f in leakage} == {"leakage"}
