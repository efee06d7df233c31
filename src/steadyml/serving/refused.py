"""Records of a refused request, for the prediction log: the monitor counts what broke the
contract and sees the values that broke it.

A body that breaks the data contract is answered 422 and not scored. Each of its records is
still logged (scrubbed of personal data as answered records are), with no prediction and the
reason as its error: ``contract: tenure_months: ...`` for a record that broke a rule, or
"another record in the request broke the contract" for a good record sent beside a bad one.

A refused record is whatever the client sent, so its keys are not to be trusted. Personal data
is recognised under every spelling of a ``pii`` column's name: the contract's name, the field
name the request model also accepts (``e_mail`` for ``e-mail``), and any key that differs from
those only by case, spaces or punctuation (``Email``, ``EMAIL``, ``e mail``); each is removed
or keyed-hashed as the contract's column. Any other key that is not a contract column is left
out; only its name is kept, in ``_unknown_columns``, so the monitor can still tell what was
sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steadyml.entities import PredictionRecord, new_request_id
from steadyml.predlog import row_key, scrub
from steadyml.predlog.scrub import loose_name
from steadyml.serving.requests import _python_name  # the record model's field names

#: the key under which a refused record's unknown column names are logged
UNKNOWN = "_unknown_columns"

__all__ = ["UNKNOWN", "RefusedLog", "refused_records"]


@dataclass(frozen=True)
class RefusedLog:
    """How refused records are logged: at most ``max_records``, personal data scrubbed.

    ``columns`` are the keys a record may have (the contract's columns but the target, in
    contract order, as the service's request model is built). Without them, only the keys the
    request model refused as unknown are known to be unknown.
    """

    max_records: int
    pii: list[str]
    pii_mode: str
    pii_key: str
    id_column: str | None
    columns: Sequence[str] = ()

    def known(self) -> dict[str, str]:
        """Each key the request model accepts (a column's name or its field name) to its
        column."""
        known: dict[str, str] = {c: c for c in self.columns}
        taken: set[str] = set()
        for column in self.columns:
            known.setdefault(_python_name(column, taken), column)
        return known


def _loggable(
    row: Mapping[str, Any], refused: set[str], how: RefusedLog, known: Mapping[str, str]
) -> dict[str, Any]:
    """A refused record's keys as the log may keep them: contract columns by their contract
    name, personal data under any spelling scrubbed as its column, unknown keys by name only.
    ``refused`` are the keys the request model refused as unknown; ``known`` is
    ``how.known()``."""
    personal = {loose_name(c): c for c in how.pii}
    kept: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in row.items():
        name = str(key)
        if how.columns:
            column = None if name in refused else known.get(name)
        else:  # the columns were not given: trust what the model did not refuse
            column = None if name in refused else personal.get(loose_name(name), name)
        if column is None:
            unknown.append(name)  # its value is never logged
        else:
            kept.setdefault(column, value)
    out = scrub(kept, how.pii, mode=how.pii_mode, key=how.pii_key)
    if unknown:
        out[UNKNOWN] = unknown[:100]
    return out


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
    refused: dict[int, set[str]] = {}
    for e in errors:
        loc = tuple(e.get("loc") or ())
        if len(loc) >= 3 and loc[:2] == ("body", "records") and isinstance(loc[2], int):
            field = ".".join(str(part) for part in loc[3:]) or "record"
            reasons.setdefault(loc[2], []).append(f"{field}: {e.get('msg', '')}"[:200])
            if e.get("type") == "extra_forbidden" and len(loc) == 4:
                refused.setdefault(loc[2], set()).add(str(loc[3]))
    out = []
    known = how.known()
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
                inputs=_loggable(row, refused.get(i, set()), how, known),
                prediction=None,
                score=None,
                latency_ms=None,
                error=error[:1000],
                row_key=None if not how.id_column else row_key(row.get(how.id_column)),
            )
        )
    return out
