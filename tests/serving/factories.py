"""Test data for the serving tests, made in one place: small customer tables for models fitted
in a test, records of the trained churn project as a client sends them, and its API keys."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import steadyml
from steadyml.data.contract import ColumnContract, Contract
from steadyml.serving.requests import build_record_model, build_request_model


def customers(n: int, seed: int = 3, *, target: str = "churned") -> pd.DataFrame:
    """``n`` customers (tenure, charges, contract) and whether they left, in ``target``."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n)
    risk = -0.04 * tenure + 0.02 * charges + (contract == "month-to-month") * 1.5
    churned = (risk + rng.normal(0, 0.7, n) > 0.8).astype(int)
    return pd.DataFrame(
        {"tenure_months": tenure, "monthly_charges": charges, "contract": contract, target: churned}
    )


def churn_records(root: Path, n: int = 3, start: int = 0) -> list[dict[str, Any]]:
    """Rows ``start`` to ``start + n`` of the project's first snapshot as JSON records, with
    the personal data the snapshot left out: no target, no leak, times as ISO text, NaN as
    null."""
    with steadyml.open(root, env={}) as project:
        frame = project.load_snapshot(1).iloc[start : start + n]
        # a snapshot leaves personal data out; clients send it, from the file it came from
        source = project.load_data().frame.iloc[start : start + n]
        frame = frame.assign(**{c: source[c].to_numpy() for c in project.config.data.columns.pii})
    out = []
    for row in frame.to_dict(orient="records"):
        row.pop("churned", None)
        row.pop("cancellation_reason", None)
        clean = {}
        for k, v in row.items():
            if hasattr(v, "isoformat"):
                v = v.isoformat()
            elif v != v:  # NaN
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def read_keys(root: Path) -> dict[str, str]:
    """The API keys the serving template wrote to keys.txt, by scope."""
    pairs = (line.split("=", 1) for line in (root / "keys.txt").read_text().splitlines())
    return dict(pairs)


def copy_project(template: Path, parent: Path, serving_yaml: str = "") -> Path:
    """A copy of the serving template under ``parent``, with ``serving_yaml`` appended to
    its steadyml.yaml."""
    root = parent / "churn"
    shutil.copytree(template, root)
    if serving_yaml:
        cfg = root / "steadyml.yaml"
        cfg.write_text(cfg.read_text(encoding="utf-8") + serving_yaml, encoding="utf-8")
    return root


# --- the churn contract and its request models ------------------------------------------

FEATURES = ["tenure_months", "monthly_charges", "contract", "payment_method", "signup_date"]
PAYMENT = ["bank transfer", "credit card", "electronic check", "mailed check"]


def churn_contract() -> Contract:
    """The churn data contract: an id, PII, ranged and categorical features, a sensitive
    column and the target."""
    cols = [
        ColumnContract("customer_id", "id", "string", nullable=False),
        ColumnContract("email", "pii", "string"),
        ColumnContract("tenure_months", "numeric", "integer", nullable=False, min=0, max=72),
        ColumnContract("monthly_charges", "numeric", "number", min=18.25, max=118.75),
        ColumnContract(
            "contract",
            "categorical",
            "string",
            nullable=False,
            allowed=["month-to-month", "one-year", "two-year"],
        ),
        ColumnContract("payment_method", "categorical", "string", allowed=PAYMENT),
        ColumnContract("signup_date", "timestamp", "datetime"),
        ColumnContract("gender", "sensitive", "string", allowed=["F", "M"]),
        ColumnContract("churned", "target", "integer", nullable=False, allowed=[0, 1]),
    ]
    return Contract(columns={c.name: c for c in cols})


def good_record(**overrides: Any) -> dict[str, Any]:
    """A record of ``churn_contract()`` that validates, with ``overrides``."""
    rec: dict[str, Any] = {
        "customer_id": "C-0001",
        "tenure_months": 12,
        "monthly_charges": 70.5,
        "contract": "one-year",
        "payment_method": "credit card",
        "signup_date": "2023-05-01",
    }
    rec.update(overrides)
    return rec


def request_models(
    unknown: str = "reject",
    max_records: int = 1000,
    on_unexpected: str = "refuse",
    contract: Contract | None = None,
) -> tuple[Any, Any]:
    """The record model and the request model generated from ``churn_contract()``; by
    default with ``on_unexpected="refuse"``, so the contract's expectations (the ranges and
    categories seen in training, never missing) refuse as rules do."""
    record = build_record_model(
        contract or churn_contract(),
        target="churned",
        features=FEATURES,
        unknown_columns=unknown,  # type: ignore[arg-type]
        on_unexpected=on_unexpected,  # type: ignore[arg-type]
    )
    return record, build_request_model(record, max_records=max_records)
