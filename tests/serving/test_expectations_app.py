"""Rules refuse, expectations are answered and flagged: the API, in process, on the trained
churn project (issue 11). A record outside what training showed (above the training range, an
unseen category, missing where training never was) gets 200 and a warning naming the field,
worded as batch scoring words it; a value breaking a rule under ``rules:`` gets 422, and so
does an expectation broken with ``serving.on_unexpected: refuse``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import churn_records, copy_project, read_keys
from inprocess import QUICK, AppMaker, AppServer, start_app

import steadyml
from steadyml.data.contract import ColumnRules, check_rows, load_contract, save_contract

Server = Any  # inprocess.AppServer


def predict(server: Server, records: list[dict[str, Any]]) -> Any:
    return server.post(
        "/v1/predict", json={"records": records}, headers={"X-API-Key": server.keys["predict"]}
    )


def contract_of(server: Server) -> Any:
    with steadyml.open(server.root, env={}) as project:
        return project.contract()


def batch_words(server: Server, record: dict[str, Any]) -> list[str]:
    """What batch scoring says of ``record`` (the model's features only)."""
    with steadyml.open(server.root, env={}) as project:
        contract = project.contract()
        features = project.config.data.roles().features
        codes = project.config.data.missing_codes
    cols = [contract.columns[f] for f in features]
    frame = pd.DataFrame([{c.name: record.get(c.name) for c in cols}], dtype=object)
    return check_rows(frame, cols, missing_codes=codes).row_warnings()[0]


def test_a_tenure_above_the_training_max_is_answered_with_a_warning(server: Server) -> None:
    top = contract_of(server).columns["tenure_months"].max
    good, high = churn_records(server.root, 2)
    high["tenure_months"] = int(top) + 50
    res = predict(server, [good, high])
    assert res.status_code == 200, res.text
    ok, flagged = res.json()["results"]
    assert ok["warnings"] == []
    assert len(flagged["warnings"]) == 1
    words = flagged["warnings"][0]
    assert words.startswith(f"tenure_months: {int(top) + 50} is above the training")
    assert words.endswith("(scored; outside what the model saw)")
    assert flagged["warnings"] == batch_words(server, high)  # the same words as batch
    assert flagged["prediction"] in (0, 1) and flagged["fallback"] is False


def test_an_unseen_category_is_answered_with_a_warning(server: Server) -> None:
    rec = churn_records(server.root, 1)[0]
    rec["plan"] = "platinum"
    res = predict(server, [rec])
    assert res.status_code == 200, res.text
    (result,) = res.json()["results"]
    assert len(result["warnings"]) == 1
    assert result["warnings"][0].startswith("plan: 'platinum' was not seen in training")
    assert result["warnings"] == batch_words(server, rec)


def test_a_missing_value_in_a_never_missing_column_is_answered_with_a_warning(
    server: Server,
) -> None:
    contract = contract_of(server)
    rec = churn_records(server.root, 1)[0]
    field = next(
        name
        for name in ("tenure_months", "plan", "monthly_charges")
        if not contract.columns[name].nullable
    )
    rec[field] = None
    res = predict(server, [rec])
    assert res.status_code == 200, res.text
    (result,) = res.json()["results"]
    assert result["warnings"] == [
        f"{field}: is missing, and was never missing in training "
        "(scored; the model fills in missing values)"
    ]


def test_wrong_types_are_still_refused(server: Server) -> None:
    rec = churn_records(server.root, 1)[0]
    rec["tenure_months"] = "abc"
    res = predict(server, [rec])
    assert res.status_code == 422
    assert res.json()["errors"][0]["loc"] == ["records", 0, "tenure_months"]


@pytest.fixture
def ruled_server(serving_template: Path, tmp_path: Path) -> Iterator[AppServer]:
    """An app whose contract.yaml has a rule: tenure_months ≥ 0 (its expectations kept)."""
    root = copy_project(serving_template, tmp_path / "ruled")
    with steadyml.open(root, env={}) as project:
        path = project.contract_path
    contract = load_contract(path)
    contract.columns["tenure_months"].rules = ColumnRules(min=0)
    save_contract(contract, path)
    srv = start_app(root, read_keys(root))
    yield srv
    srv.stop()


def test_a_value_breaking_a_rule_is_refused(ruled_server: AppServer) -> None:
    rec = churn_records(ruled_server.root, 1)[0]
    res = predict(ruled_server, [{**rec, "tenure_months": -3}])
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["errors"][0]["loc"] == ["records", 0, "tenure_months"]
    assert body["errors"][0]["msg"] == (
        "records[0].tenure_months: must be ≥ 0 (a rule in the contract); got -3."
    )
    top = contract_of(ruled_server).columns["tenure_months"].max
    high = predict(ruled_server, [{**rec, "tenure_months": int(top) + 1}])
    assert high.status_code == 200  # above the training range: only an expectation


def test_with_on_unexpected_refuse_an_out_of_range_value_is_refused(
    make_server: AppMaker,
) -> None:
    srv = make_server("\nserving:\n  on_unexpected: refuse\n")
    top = contract_of(srv).columns["tenure_months"].max
    rec = churn_records(srv.root, 1)[0]
    res = predict(srv, [{**rec, "tenure_months": int(top) + 50}])
    assert res.status_code == 422, res.text
    assert res.json()["errors"][0]["msg"].endswith(
        f"(the largest value seen in training); got {int(top) + 50}."
    )
    fine = predict(srv, [rec])
    assert fine.status_code == 200 and fine.json()["results"][0]["warnings"] == []


@pytest.mark.parametrize("chunks", [False, True], ids=["sql-rows", "arrow-chunks"])
def test_the_log_keeps_the_warnings_of_each_answered_record(
    make_server: AppMaker, chunks: bool
) -> None:
    # quiet traffic goes to SQL rows, busy traffic to Arrow chunks: both keep _warnings
    srv = make_server(settings=replace(QUICK, log_chunk_min_rows=1) if chunks else QUICK)
    good, odd = churn_records(srv.root, 2)
    odd["plan"] = "platinum"
    res = predict(srv, [good, odd])
    assert res.status_code == 200, res.text
    ids = [r["request_id"] for r in res.json()["results"]]
    deadline = time.monotonic() + 20
    with steadyml.open(srv.root, env={}) as project:
        while time.monotonic() < deadline:
            found = project.store.list_predictions(limit=10, request_ids=ids)
            if len(found) == 2:
                break
            time.sleep(0.1)
        assert bool(project.store.list_prediction_files(inline=True)) is chunks
    logged = {p.request_id: p.inputs.get("_warnings") for p in found}
    assert logged[ids[0]] is None
    assert logged[ids[1]] == "; ".join(res.json()["results"][1]["warnings"])
    assert logged[ids[1]].startswith("plan: 'platinum' was not seen in training")
