"""Batch scoring end to end: real files, a real trained model, a real SQLite prediction log."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steadyml.errors import DataError
from steadyml.predlog import read_log
from steadyml.registry.scoring import score_frame


def test_csv_to_parquet_matches_score_frame(write_input, batch_project, scoring_frame, tmp_path):
    source = write_input(scoring_frame.head(800), "in.csv")
    result = batch_project.score_batch(source, tmp_path / "out.parquet", chunk_rows=300)
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (800, 800, 0)
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert list(scored.columns) == [
        "customer_id", "_row", "prediction", "score", "model_version", "scored_at", "_warnings",
    ]  # fmt: skip
    assert set(scored["_warnings"]) == {""} and result.rows_with_warnings == 0
    expected = score_frame(batch_project.load_model(), scoring_frame.head(800))
    assert scored["_row"].tolist() == list(range(2, 802))
    assert scored["customer_id"].tolist() == scoring_frame["customer_id"].head(800).tolist()
    assert scored["prediction"].tolist() == expected.predictions
    assert scored["score"].tolist() == pytest.approx(expected.scores, abs=1e-9)
    assert set(scored["model_version"]) == {1}
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert len(rejects) == 0 and list(rejects.columns[:2]) == ["_line", "_reason"]


def test_parquet_to_csv_a_value_below_the_training_range_is_scored_with_a_warning(
    write_input, batch_project, scoring_frame, tmp_path
):
    frame = scoring_frame.head(500).copy()
    frame.loc[10, "tenure_months"] = -5
    source = write_input(frame, "in.parquet")
    result = batch_project.score_batch(source, tmp_path / "out.csv", chunk_rows=200)
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (500, 500, 0)
    assert result.rows_with_warnings == 1
    assert result.warnings == {"tenure_months: below the training range": 1}
    scored = pd.read_csv(tmp_path / "out.csv", dtype={"customer_id": str}, keep_default_na=False)
    warned = scored[scored["_warnings"] != ""]
    assert warned["_row"].tolist() == [11]
    assert warned["_warnings"].tolist() == [
        "tenure_months: -5 is below the training range 0–111 (scored; outside what the model saw)"
    ]
    assert len(pd.read_csv(tmp_path / "out.rejects.csv")) == 0


def _set_rule(project, column: str, **rules: object) -> None:
    """Write a rule for ``column`` into the project's contract.yaml, as a user would."""
    from steadyml.data.contract import ColumnRules, load_contract, save_contract

    path = project.root / "contract.yaml"
    contract = load_contract(path)
    contract.columns[column].rules = ColumnRules(**rules)  # type: ignore[arg-type]
    save_contract(contract, path)


def _set_config(project, section: str, key: str, value: object) -> None:
    import yaml

    cfg = project.root / "steadyml.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data.setdefault(section, {})[key] = value
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_a_rule_written_in_the_contract_refuses_the_row(
    write_input, batch_project, scoring_frame, tmp_path
):
    import steadyml

    _set_rule(batch_project, "tenure_months", min=0)
    frame = scoring_frame.head(50).copy()
    frame.loc[10, "tenure_months"] = -5
    with steadyml.open(batch_project.root, env={}) as project:
        result = project.score_batch(write_input(frame, "in.parquet"), tmp_path / "out.csv")
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (50, 49, 1)
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str)
    assert rejects["_line"].tolist() == ["11"]
    assert rejects["_reason"][0] == (
        "tenure_months: expects a number ≥ 0 (a rule in the contract); got '-5'"
    )
    assert result.reasons == {"tenure_months: out of range": 1}


def _new_cohort(scoring_frame: pd.DataFrame) -> pd.DataFrame:
    """Customers newer than any in training? Here: tenure above the training range (the
    sample's range starts at 0), and a plan the model never saw."""
    frame = scoring_frame.head(40).copy()
    frame["tenure_months"] = 500
    frame.loc[3, "plan"] = "gold"
    return frame


def test_a_new_cohort_is_scored_with_warnings_none_rejected(
    write_input, batch_project, scoring_frame, tmp_path
):
    source = write_input(_new_cohort(scoring_frame), "in.csv")
    result = batch_project.score_batch(source, tmp_path / "out.csv", chunk_rows=16)
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (40, 40, 0)
    assert result.rows_with_warnings == 40 and result.to_dict()["counts_add_up"]
    assert result.warnings == {
        "tenure_months: above the training range": 40,
        "plan: not seen in training": 1,
    }
    scored = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert scored["_warnings"][0] == (
        "tenure_months: 500 is above the training range 0–111 (scored; outside what the model saw)"
    )
    assert scored["_warnings"][3].endswith(
        "; plan: 'gold' was not seen in training, which had basic, premium, standard (scored; "
        "outside what the model saw)"
    )
    assert scored["prediction"].notna().all()
    assert batch_project.store.count_predictions(route="batch", answered=True) == 40


def test_with_on_unexpected_refuse_the_new_cohort_goes_to_the_rejects(
    write_input, batch_project, scoring_frame, tmp_path
):
    import steadyml

    _set_config(batch_project, "batch", "on_unexpected", "refuse")
    source = write_input(_new_cohort(scoring_frame), "in.csv")
    with steadyml.open(batch_project.root, env={}) as project:
        result = project.score_batch(source, tmp_path / "out.csv")
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (40, 0, 40)
    assert result.on_unexpected == "refuse" and result.rows_with_warnings == 0
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str)
    assert rejects["_reason"][0] == (
        "tenure_months: 500 is above the training range 0–111 (refused: on_unexpected is 'refuse')"
    )
    assert result.reasons["tenure_months: above the training range"] == 40


def test_rejects_keep_text_line_numbers_and_reasons(
    write_input, batch_project, scoring_frame, tmp_path
):
    frame = scoring_frame.head(300).astype(str)
    frame.loc[2, "email"] = "two\nlines"  # a quoted newline before the bad rows
    frame.loc[5, "tenure_months"] = "abc"
    frame.loc[6, "contract"] = "weekly"
    frame.loc[6, "monthly_charges"] = ""  # never missing in training: scored, with a warning
    source = write_input(frame, "in.csv")
    with open(source, "a", encoding="utf-8") as fh:
        fh.write("C9999999,2025-01-01,3\n")  # a truncated last line
    result = batch_project.score_batch(source, tmp_path / "out.csv", chunk_rows=100)
    assert result.rows_in == 301 and result.rows_rejected == 2
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str, keep_default_na=False)
    # row 5 is on line 8: header line 1, rows from line 2, plus one line for the quoted newline
    assert rejects["_line"].tolist() == ["8", "303"]
    assert rejects["tenure_months"][0] == "abc"
    assert rejects["_reason"][0] == (
        "tenure_months: expects a whole number (a rule: the column's type); got 'abc'"
    )
    assert rejects["_reason"][1] == "the line ends early: 3 of 15 values"
    assert rejects["customer_id"][1] == "C9999999"
    assert result.reasons == {"tenure_months: wrong type": 1, "line: ends early": 1}
    assert result.warnings == {
        "monthly_charges: missing (never in training)": 1,
        "contract: not seen in training": 1,
    }
    scored = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    rows = set(scored["_row"])
    assert {2, 3, 4, 6, 7, 9, 10} <= rows and 5 not in rows  # row 2 spans lines 4 and 5
    assert scored.set_index("_row").loc[9, "_warnings"] == (
        "monthly_charges: is missing, and was never missing in training (scored; the model "
        "fills in missing values); contract: 'weekly' was not seen in training, which had "
        "month-to-month, one-year, two-year (scored; outside what the model saw)"
    )


_BAD_VALUES = {
    "tenure_months": st.sampled_from(["abc", "-3", "1.5", "", "1e9"]),
    "monthly_charges": st.sampled_from(["x", "", "99999"]),
    "contract": st.sampled_from(["weekly", "", "ONE-YEAR"]),
    "customer_id": st.just(""),
}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, 149),
            st.sampled_from(sorted(_BAD_VALUES)).flatmap(
                lambda c: st.tuples(st.just(c), _BAD_VALUES[c])
            ),
        ),
        max_size=25,
    ),
    truncate=st.booleans(),
    chunk_rows=st.sampled_from([7, 50, 1000]),
)
def test_rows_in_equals_scored_plus_rejected(
    write_input, batch_project, scoring_frame, tmp_path, edits, truncate, chunk_rows
):
    frame = scoring_frame.head(150).astype(str)
    for row, (column, value) in edits:
        frame.loc[row, column] = value
    source = write_input(frame, "in.csv")
    if truncate:
        with open(source, "a", encoding="utf-8") as fh:
            fh.write("C1,2025-01-01")
    result = batch_project.score_batch(
        source, tmp_path / "out.parquet", chunk_rows=chunk_rows, log=False
    )
    assert result.rows_in == 150 + truncate
    assert result.rows_in == result.rows_scored + result.rows_rejected
    scored = pd.read_parquet(tmp_path / "out.parquet")
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str)
    assert len(scored) == result.rows_scored and len(rejects) == result.rows_rejected
    lines = sorted(scored["_row"].tolist() + rejects["_line"].astype(int).tolist())
    assert lines == list(range(2, 152 + truncate))  # every line once: nothing dropped
    assert rejects["_reason"].str.len().gt(0).all()


def test_prediction_log_holds_batch_rows_keyed_by_id(
    write_input, batch_project, scoring_frame, tmp_path
):
    frame = scoring_frame.head(200).astype(str)
    frame.loc[7, "tenure_months"] = "abc"  # refused: logged with its reason, not answered
    frame.loc[8, "contract"] = "weekly"  # unexpected: answered (the monitor counts it)
    source = write_input(frame, "in.csv")
    result = batch_project.score_batch(source, tmp_path / "out.csv", chunk_rows=64)
    store = batch_project.store
    assert store.count_predictions(route="batch", answered=True) == result.rows_scored == 199
    assert store.count_predictions(route="batch", answered=False) == 1
    assert store.count_predictions(route="live") == 0
    files = store.list_prediction_files()
    assert len(files) == 1 and (files[0].rows, files[0].rows_refused) == (200, 1)
    assert batch_project.artifacts.verify(files[0].digest)
    logged = pd.concat(read_log(store, batch_project.artifacts), ignore_index=True)
    assert len(logged) == 200 and set(logged["route"]) == {"batch"}
    assert set(logged["row_key"]) == set(scoring_frame["customer_id"].head(200))
    assert set(logged["request_id"]) == {f"{files[0].batch_id}:{n}" for n in range(2, 202)}
    assert "email" not in logged.columns and "phone" not in logged.columns  # personal data
    assert "@example" not in logged.to_csv() and "+1-555" not in logged.to_csv()
    refused = logged[logged["error"].notna()]
    assert refused["error"].tolist() == [
        "contract: tenure_months: expects a whole number (a rule: the column's type); got 'abc'"
    ]
    assert refused["prediction"].isna().all() and refused["tenure_months"].isna().all()
    weekly = logged[logged["contract"] == "weekly"]
    assert len(weekly) == 1 and weekly["error"].isna().all() and weekly["score"].notna().all()
    by_id = logged.set_index("request_id")
    expected = pd.read_csv(tmp_path / "out.csv")
    ids = [f"{files[0].batch_id}:{n}" for n in expected["_row"]]
    assert by_id.loc[ids, "score"].tolist() == pytest.approx(expected["score"].tolist(), abs=1e-12)
    assert by_id.loc[ids, "prediction"].tolist() == expected["prediction"].tolist()
    assert by_id["tenure_months"].dtype == float  # inputs keep their type
    assert by_id.loc[f"{files[0].batch_id}:2", "tenure_months"] == float(
        scoring_frame["tenure_months"][0]
    )
    key = scoring_frame["customer_id"][0]
    stored, unknown = store.add_feedback(
        [(key, 1), ("never-scored", 0), (f"{files[0].batch_id}:9", 1)]
    )
    assert stored == 3 and unknown == ["never-scored"]


def test_hashed_personal_data_in_the_batch_log(write_input, batch_project, scoring_frame, tmp_path):
    import yaml

    from steadyml.predlog import scrub

    cfg = batch_project.root / "steadyml.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data.setdefault("serving", {})["pii_handling"] = "hash"
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    import steadyml
    from steadyml.predlog.keys import pii_key

    with steadyml.open(batch_project.root, env={}) as project:
        source = write_input(scoring_frame.head(30), "in.csv")
        project.score_batch(source, tmp_path / "out.csv")
        logged = pd.concat(read_log(project.store), ignore_index=True)
        key = pii_key(project.root, project.store)
    email = scoring_frame["email"][0]
    assert logged["email"][0] == scrub({"email": email}, ["email"], mode="hash", key=key)["email"]


def test_failed_run_logs_nothing_and_no_log_logs_nothing(
    write_input, batch_project, scoring_frame, tmp_path
):
    source = write_input(scoring_frame.head(50), "in.csv")
    batch_project.score_batch(source, tmp_path / "out.csv", log=False)
    assert batch_project.store.list_prediction_files() == []

    def explode(done, total):
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        batch_project.score_batch(source, tmp_path / "out2.csv", chunk_rows=20, progress=explode)
    assert batch_project.store.list_prediction_files() == []
    assert batch_project.store.count_predictions() == 0
    assert not (tmp_path / "out2.csv").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes)"),
        (b"customer_id,tenure_months\n", "but no rows"),
        (b"customer_id;tenure_months;plan\nC1;3;basic\n", "separated by semicolons"),
        (b"\n\n", "no header row"),
    ],
)
def test_malformed_files_get_clear_errors(batch_project, tmp_path, content, message):
    source = tmp_path / "in.csv"
    source.write_bytes(content)
    with pytest.raises(DataError, match=re.escape(message)):
        batch_project.score_batch(source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_missing_model_column_is_named(batch_project, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("customer_id,tenure_months\nC1,3\n", encoding="utf-8")
    with pytest.raises(DataError, match="has no column 'monthly_charges'"):
        batch_project.score_batch(source, tmp_path / "out.csv")


def test_mixed_types_reject_rows_not_the_file(write_input, batch_project, scoring_frame, tmp_path):
    frame = scoring_frame.head(60).astype(str)
    frame.loc[[3, 40], "total_charges"] = ["n/a?", "lots"]
    source = write_input(frame, "in.csv")
    result = batch_project.score_batch(source, tmp_path / "out.csv", log=False)
    assert (result.rows_scored, result.rows_rejected) == (58, 2)
    assert result.reasons == {"total_charges: wrong type": 2}


def test_non_utf8_midway_leaves_no_output(batch_project, scoring_frame, tmp_path):
    """A bad byte far into the file fails the run (found by the planning pass, before any
    row is scored or logged): an older output is untouched, no temporary file is left."""
    tmp_path = tmp_path / "files"
    tmp_path.mkdir()
    source = tmp_path / "in.csv"
    scoring_frame.head(3000).to_csv(source, index=False)
    data = source.read_bytes()
    cut = data.rfind(b"\n", 0, len(data) - 2000) + 1
    source.write_bytes(data[:cut] + b"C\xe9\xff" + data[cut + 3 :])
    previous = tmp_path / "out.parquet"
    previous.write_bytes(b"older output")
    with pytest.raises(DataError, match="is not UTF-8 text: byte 0xE9"):
        batch_project.score_batch(source, previous, chunk_rows=200)
    assert previous.read_bytes() == b"older output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.parquet"]


_KILL_MIDWAY = """
import os, signal, sys
import steadyml

def progress(done, total):
    if done >= 400:  # the first chunks are written: die without any chance to clean up
        os.kill(os.getpid(), signal.SIGKILL)

with steadyml.open(sys.argv[1], env={}) as project:
    project.score_batch(sys.argv[2], sys.argv[3], chunk_rows=200, progress=progress)
"""


@pytest.mark.slow
def test_killed_run_leaves_no_complete_looking_output(
    write_input, batch_project, scoring_frame, tmp_path
):
    import subprocess
    import sys

    source = write_input(scoring_frame.head(2000), "in.csv")
    out = tmp_path / "out.parquet"
    done = subprocess.run(
        [sys.executable, "-c", _KILL_MIDWAY, str(batch_project.root), str(source), str(out)],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr.decode()
    assert not out.exists() and not (tmp_path / "out.rejects.csv").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("out.")]
    assert leftovers and all(".tmp-" in name for name in leftovers)


def test_wrong_output_and_rejects_paths_name_the_argument(
    write_input, batch_project, scoring_frame, tmp_path
):
    source = write_input(scoring_frame.head(5), "in.csv")
    with pytest.raises(DataError, match=r"must end in \.csv or \.parquet") as info:
        batch_project.score_batch(source, tmp_path / "out.xlsx")
    assert info.value.field == "out" and "--" not in (info.value.hint or "")
    with pytest.raises(DataError, match="The rejects file must be CSV") as info:
        batch_project.score_batch(source, tmp_path / "o.csv", rejects=tmp_path / "r.parquet")
    assert info.value.field == "rejects" and "--" not in (info.value.hint or "")
    with pytest.raises(DataError, match="would overwrite the input") as info:
        batch_project.score_batch(source, source)
    assert info.value.field == "out"
    with pytest.raises(DataError, match="does not exist") as info:
        batch_project.score_batch(source, tmp_path / "o.csv", rejects=tmp_path / "no" / "r.csv")
    assert info.value.field == "rejects"


def test_out_and_rejects_must_be_two_files_and_neither_the_input(
    write_input, batch_project, scoring_frame, tmp_path
):
    source = write_input(scoring_frame.head(20), "in.csv")
    before = source.read_bytes()
    with pytest.raises(DataError, match="same file") as same:
        batch_project.score_batch(source, tmp_path / "x.csv", rejects=tmp_path / "x.csv")
    assert same.value.field == "rejects" and not (tmp_path / "x.csv").exists()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "in.csv").hardlink_to(source)  # the input under another name
    with pytest.raises(DataError, match="is the input file") as linked:
        batch_project.score_batch(source, tmp_path / "sub" / "in.csv")
    assert linked.value.field == "out"
    with pytest.raises(DataError, match="is the input file") as rejects:
        batch_project.score_batch(source, tmp_path / "o.csv", rejects=tmp_path / "sub" / "in.csv")
    assert rejects.value.field == "rejects"
    assert source.read_bytes() == before


def test_csv_outputs_neutralise_formulas_and_keep_numbers(
    write_input, batch_project, scoring_frame, tmp_path
):
    frame = scoring_frame.head(50).astype(str)
    frame.loc[2, "customer_id"] = '=HYPERLINK("http://evil","x")'
    frame.loc[3, "customer_id"] = "@SUM(A1)"
    frame.loc[4, "customer_id"] = "-42"  # a number: left as it is
    frame.loc[6, "tenure_months"] = "abc"  # rejected ...
    frame.loc[6, "customer_id"] = "+cmd|' /C calc'!A0"  # ... with formulas in its values
    frame.loc[6, "monthly_charges"] = "-3.5"
    source = write_input(frame, "in.csv")
    result = batch_project.score_batch(source, tmp_path / "out.csv", log=False)
    assert (result.rows_scored, result.rows_rejected) == (49, 1)
    scored = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    ids = scored["customer_id"].tolist()
    assert ids[2] == '\'=HYPERLINK("http://evil","x")' and ids[3] == "'@SUM(A1)"
    assert ids[4] == "-42"
    assert not scored["prediction"].str.startswith("'").any()
    assert pd.to_numeric(scored["score"]).between(0, 1).all()
    rejects = pd.read_csv(tmp_path / "out.rejects.csv", dtype=str, keep_default_na=False)
    assert rejects.loc[0, "customer_id"] == "'+cmd|' /C calc'!A0"
    assert rejects.loc[0, "monthly_charges"] == "-3.5"
    batch_project.score_batch(source, tmp_path / "out.parquet", log=False)
    assert pd.read_parquet(tmp_path / "out.parquet")["customer_id"][2].startswith("=HYPER")


def test_a_killed_runs_temp_files_are_removed_by_the_next_run(
    write_input, batch_project, scoring_frame, tmp_path
):
    import fcntl
    import os

    source = write_input(scoring_frame.head(40), "in.csv")
    left = [
        tmp_path / "out.parquet.tmp-0123456789ab",
        tmp_path / "out.rejects.csv.tmp-ba9876543210",
    ]
    for path in left:
        path.write_bytes(b"PAR1 half written")  # what a killed run leaves
    other = tmp_path / "other.parquet.tmp-0123456789ab"  # another output's: not ours to touch
    other.write_bytes(b"x")
    running = tmp_path / "out.parquet.tmp-aaaaaaaaaaaa"  # a run still writing: locked
    running.write_bytes(b"x")
    fd = os.open(running, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = batch_project.score_batch(source, tmp_path / "out.parquet", log=False)
    finally:
        os.close(fd)
    assert not any(path.exists() for path in left)
    assert other.exists() and running.exists()
    assert any(
        "Removed 2 temporary file(s) left by an earlier run" in note
        and "out.parquet.tmp-0123456789ab" in note
        for note in result.notes
    )
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 40


def test_a_failed_run_removes_its_temp_files(write_input, batch_project, scoring_frame, tmp_path):
    source = write_input(scoring_frame.head(300), "in.csv")

    def stop(done, total):
        raise RuntimeError("stopped after the first chunk")

    folder = tmp_path / "scores"
    folder.mkdir()
    with pytest.raises(RuntimeError, match="stopped"):
        batch_project.score_batch(source, folder / "out.csv", chunk_rows=50, progress=stop)
    assert list(folder.iterdir()) == []  # no output, no rejects, no temporary file
