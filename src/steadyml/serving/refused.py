"""Records of a refused request, for the prediction log: the monitor counts what broke the
contract and sees the values that broke it.

A body that breaks the data contract is answered 422 and not scored. Each of its records is
still logged (scrubbed of personal data as answered records are), with no prediction and the
reason as its error: ``contract: tenure_months: ...`` for a record that broke a rule, or
"another record in the request broke the contract" for a good record sent beside a bad one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steadyml.entities import PredictionRecord, new_request_id
from steadyml.predlog import row_key, scrub

__all__ = ["RefusedLog", "refused_records"]


@dataclass(frozen=True)
class RefusedLog:
    """How refused records are logged: at most ``max_records``, personal data scrubbed."""

    max_records: int
    pii: list[str]
    pii_mode: str
    pii_key: str
    id_column: str | None


def refused_records(
    records: list[Any],
    errors: Sequence[Mapping[str, Any]],
    now: dt.datetime,
    version: int | None,
    how: RefusedLog,
) -> list[PredictionRecord]:
    """One log record per record sent, with the reason it was not scored.

    ``errors`` are the validation errors of the whole body (FastAPI's, located under
    ``("body", "records", i, ...)``); ``version`` is the production version at the time.
    """
    reasons: dict[int, list[str]] = {}
    for e in errors:
        loc = tuple(e.get("loc") or ())
        if len(loc) >= 3 and loc[:2] == ("body", "records") and isinstance(loc[2], int):
            field = ".".join(str(part) for part in loc[3:]) or "record"
            reasons.setdefault(loc[2], []).append(f"{field}: {e.get('msg', '')}"[:200])
    out = []
    for i, record in enumerate(records[: how.max_records]):
        row = record if isinstance(record, dict) else {}
        why = reasons.get(i)
        error = (
            "contract: " + "; ".join(why)
            if why
            else "not scored: another record in the request broke the contract"
        )
        out.append(
            PredictionRecord(
                request_id=new_request_id(),
                at=now,
                model_version=version,
                route="live",
                inputs=scrub(row, how.pii, mode=how.pii_mode, key=how.pii_key),
                prediction=None,
                score=None,
                latency_ms=None,
                error=error[:1000],
                row_key=None if not how.id_column else row_key(row.get(how.id_column)),
            )
        )
    return out
