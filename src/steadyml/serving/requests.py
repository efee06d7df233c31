"""The request bodies of the prediction API, generated from the data contract.

``build_record_model`` turns the data contract into a pydantic model of one record, so a bad
field is refused before it reaches the model, with an error that names the field and the
rule (see ``errors.py``), and the OpenAPI schema at ``/docs`` shows every rule. JSON keys are
exactly the contract's column names (aliases), even when a name is not a Python identifier
("Solar.R", "first name", "class").

How a JSON value is read, by contract type:

- ``integer``: a JSON whole number in 64 bits. ``3.0`` is accepted as 3 (some clients write
  every number with a decimal point); ``3.5``, ``"3"``, ``"abc"``, ``true`` and ``2**63`` are
  refused (training data and the log's columns hold 64-bit integers, and past about 1e308 a
  number is not even a float the model can read).
- ``number``: any JSON number (whole numbers become floats). Text such as ``"3.5"`` is
  refused, and so are ``NaN`` and ``Infinity`` (Python's JSON reader accepts them).
- ``string``: JSON text only; a number is refused (send ``"123"``, not ``123``), and so is
  text the store cannot keep: a NUL (``\\u0000``) or a lone surrogate (``\\ud800``), in a value
  or in a column's name (``data/storable.py``).
- ``boolean``: ``true`` / ``false``; pydantic's usual spellings (``"true"``, ``0``, ``1``, ...)
  are accepted too.
- ``datetime``: ISO 8601 text, a date (``"2024-01-31"``, read as midnight) or a date-time
  (``"2024-01-31T09:30:00"``, with an optional offset). A value with an offset is converted
  to UTC and the offset dropped, so every value is a naive datetime, as pandas reads the
  training data; one that leaves years 1 to 9999 in UTC is refused. Numbers (Unix times) are
  refused: ``1700000000`` is too often a mistake.
- The contract's ``rules:`` refuse: ``allowed`` becomes an enum (exactly one of the listed
  values), ``min`` / ``max`` inclusive bounds, ``nullable: false`` a ``null`` refused.
- The expectations (the column's own ``min``, ``max``, ``allowed``, ``nullable``: what training
  showed) do not refuse: such a record is answered with a warning per field
  (``expectations.py``), unless ``on_unexpected="refuse"`` (``serving.on_unexpected``); then
  they refuse as rules do, and the error says the bound was seen in training.

Which columns a record has: every feature of the model (required when null is refused) and
every other contract column except the target, optional. Those others (ids,
PII, sensitive attributes, timestamps) may be sent, and are type-checked, but their ranges and
categories are not enforced: the model does not read them, so an unseen value must not cost a
prediction. Any other key is an unknown column: refused (``unknown_columns="reject"``) or
accepted and reported by ``extra_columns`` (``"ignore"``), for the service to log and drop.

What a 422 echoes back (the value sent, a key in ``loc``) is escaped, so the answer can always
be written as JSON.

``FeedbackRequest`` (true labels by request id) is fixed: it does not depend on the contract.
Ids are 1 to 200 characters (the store's column) and labels a finite number, a whole number
in 64 bits, true / false or text, never NUL or a lone surrogate.
The response bodies are in ``responses.py``.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from steadyml.data.storable import escape_deep, escaped, text_problem
from steadyml.errors import DataContractError

if TYPE_CHECKING:
    from steadyml.data.contract import ColumnContract, Contract

__all__ = [
    "ContractRecord",
    "ContractRequest",
    "FeedbackItem",
    "FeedbackRequest",
    "build_record_model",
    "build_request_model",
    "extra_columns",
]

UnknownColumns = Literal["reject", "ignore"]
OnUnexpected = Literal["answer", "refuse"]

# --- value readers ------------------------------------------------------------------------


def _whole_number(value: Any) -> Any:
    """3.0 -> 3; anything else is left for the strict integer check to judge."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _no_unix_times(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "datetime_type", "Input should be an ISO 8601 date or date-time text"
        )
    return value


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        try:
            return value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+00:01 is before year 1 in UTC
            raise PydanticCustomError(
                "utc_out_of_range",
                "Input must be a date-time from year 1 to 9999 once its offset is applied "
                "(in UTC); send it in UTC or without an offset",
            ) from None
    return value


def _storable_text(value: str) -> str:
    """Text the store can keep: no NUL, no lone surrogate (``data/storable.py``)."""
    if value.isascii() and "\x00" not in value:  # most text: nothing to check further
        return value
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("string_unstorable", "Input " + problem)
    return value


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: the longest request id or row id the store keeps (``feedback.key``, ``predictions.row_key``)
MAX_KEY = 200


def _int64(value: int) -> int:
    """A whole number in 64 bits, as training data and the log's columns hold them (past
    about 1e308 one is not even a float: the model failed on it, a 503)."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise PydanticCustomError(
            "int64_range",
            f"Input must be a whole number from {INT64_MIN} to {INT64_MAX} (64 bits)",
        )
    return value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _show(values: Sequence[Any], limit: int = 10) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


# --- the record model ---------------------------------------------------------------------


def _explained(
    exc: ValidationError,
    *,
    known: Sequence[str],
    data: Any = None,
    allowed: dict[str, list[Any]] | None = None,
    bounds_from: Mapping[str, Mapping[str, str]] | None = None,
    words: Mapping[str, str] | None = None,
) -> ValidationError:
    """The same errors, with what the contract says added to their ``ctx``.

    ``errors.py`` builds its messages from the error dicts alone, so what they need to say
    (the model's columns, the allowed values, where a bound comes from) travels in ``ctx``;
    ``words`` rewords errors by type.
    What they echo back (``input``, and keys in ``loc``) is escaped (``data/storable.py``): a
    JSON answer cannot hold a lone surrogate, so echoing one raw turned a 422 into a 500.
    """
    details: list[InitErrorDetails] = []
    for err in _named_keys(exc.errors(include_url=False), data):
        ctx = dict(err.get("ctx") or {})
        loc = err["loc"]
        key = loc[0] if len(loc) == 1 else None
        loc = tuple(escaped(p) if isinstance(p, str) else p for p in loc)  # a key sent
        if words and err["type"] in words:
            err = {**err, "msg": words[err["type"]]}
        elif err["type"] == "string_unicode" and isinstance(err.get("input"), str):
            problem = text_problem(err["input"])
            if problem is not None:  # pydantic's words: "unable to parse raw data as ..."
                err = {**err, "type": "string_unstorable", "msg": "Input " + problem}
        if err["type"] == "extra_forbidden" and key is not None:
            ctx["known"] = list(known)
        elif err["type"] == "literal_error" and allowed and key in allowed:
            ctx["allowed"] = list(allowed[str(key)])
        elif bounds_from and key in bounds_from and err["type"] in _BOUNDS:
            side = "ge" if err["type"].startswith("greater") else "le"
            ctx["bound_from"] = bounds_from[str(key)].get(side, "rule")
        details.append(
            InitErrorDetails(
                type=PydanticCustomError(err["type"], err["msg"], ctx),
                loc=loc,
                # what the 422 echoes back, escaped: a JSON answer cannot hold a lone surrogate
                input=escape_deep(err.get("input")),
            )
        )
    return ValidationError.from_exception_data(exc.title, details)


_BOUNDS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})
_RECORD_WORDS = {  # in a record only an id column has a longest length
    "string_too_long": "Input must be at most {max_length} characters, the longest row id the "
    "log keeps whole (labels are joined by it); send a shorter id"
}


def _named_keys(errors: list[Any], data: Any) -> list[Any]:
    """``errors``, with an unknown key that pydantic could not name (a lone surrogate in it:
    pydantic reports the object, with the key as its input) named as an unknown key."""
    out: list[Any] = []
    for err in errors:
        loc = tuple(err["loc"])
        key = err.get("input")
        if err["type"] in ("string_unicode", "extra_forbidden") and isinstance(key, str):
            obj = _at(data, loc)
            if isinstance(obj, Mapping) and key in obj and not key.isascii():
                err = {**err, "type": "extra_forbidden", "msg": "Extra inputs are not permitted",
                       "loc": (*loc, key), "input": obj[key]}  # fmt: skip
        out.append(err)
    return out


def _at(data: Any, loc: tuple[Any, ...]) -> Any:
    """What is at ``loc`` inside ``data`` (``None`` when the path leads nowhere)."""
    for part in loc:
        in_list = (
            isinstance(part, int) and isinstance(data, list) and -len(data) <= part < len(data)
        )
        if not (in_list or (isinstance(data, Mapping) and isinstance(part, str) and part in data)):
            return None
        data = data[part]
    return data


class ContractRecord(BaseModel):
    """Base of the generated record models; its class variables describe the contract."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    #: every JSON key a record may have, in contract order
    contract_columns: ClassVar[tuple[str, ...]] = ()
    #: the same, as a set
    contract_columns_set: ClassVar[frozenset[str]] = frozenset()
    #: the model's features, in the order given
    feature_columns: ClassVar[tuple[str, ...]] = ()
    #: contract type of each accepted column (integer, number, string, boolean, datetime)
    column_types: ClassVar[dict[str, str]] = {}
    #: the allowed categories of each feature that has them
    allowed_values: ClassVar[dict[str, list[Any]]] = {}
    #: where each bound of a feature comes from, by side ("ge", "le"): "rule" or "training"
    bound_sources: ClassVar[dict[str, dict[str, str]]] = {}
    #: a plausible record, for the OpenAPI example
    example: ClassVar[dict[str, Any]] = {}


class _ExplainedRecord(ContractRecord):
    """A record whose errors say the rule and where it comes from (the models the API
    documents and refuses with; ``ContractRecord`` itself is the plain twin, see
    ``build_record_model``'s ``explained``)."""

    @model_validator(mode="wrap")
    @classmethod
    def _explain_errors(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            raise _explained(
                exc,
                known=cls.contract_columns,
                data=data,
                allowed=cls.allowed_values,
                bounds_from=cls.bound_sources,
                words=_RECORD_WORDS,
            ) from None


class _LenientRecord(_ExplainedRecord):
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _storable_keys(cls, data: Any) -> Any:
        """An unknown column is accepted, logged by name and dropped: its name must be text
        a log line can hold."""
        return _storable_keys(cls, data)


class _PlainLenientRecord(ContractRecord):
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _storable_keys(cls, data: Any) -> Any:
        return _storable_keys(cls, data)


def _storable_keys(cls: type[ContractRecord], data: Any) -> Any:
    """``data``, unless one of its unknown columns is named with text a log cannot hold."""
    if isinstance(data, dict) and not cls.contract_columns_set.issuperset(data):
        details = [
            InitErrorDetails(
                type=PydanticCustomError("string_unstorable", "Column name " + problem),
                loc=(escaped(key),),
                input=escape_deep(data[key]),
            )
            for key in data
            if isinstance(key, str) and (problem := text_problem(key)) is not None
        ]
        if details:
            raise ValidationError.from_exception_data(cls.__name__, details)
    return data


def _python_name(column: str, taken: set[str]) -> str:
    """A field name for ``column``: the name itself when it is a safe identifier."""
    name = column
    if not name.isidentifier() or name.startswith("_"):
        name = re.sub(r"\W+", "_", name).strip("_") or "column"
        if name[0].isdigit():
            name = f"c_{name}"
    if keyword.iskeyword(name) or hasattr(ContractRecord, name):
        name = f"{name}_"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


@dataclass(frozen=True)
class _Limits:
    """What refuses a feature's value: its rules, and its expectations when those refuse too."""

    lo: float | None = None
    hi: float | None = None
    allowed: list[Any] | None = None
    never_null: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # "ge"/"le" -> "rule"/"training"


def _limits(col: ColumnContract, *, refuse: bool) -> _Limits:
    """The rules of ``col``; with ``refuse``, its expectations too (the tighter of each)."""
    rules = col.rules
    lo, hi, allowed = rules.min, rules.max, rules.allowed
    sources = {"ge": "rule", "le": "rule"}
    if refuse:
        if col.min is not None and (lo is None or float(col.min) > float(lo)):
            lo, sources["ge"] = col.min, "training"
        if col.max is not None and (hi is None or float(col.max) < float(hi)):
            hi, sources["le"] = col.max, "training"
        if col.allowed is not None:
            allowed = col.allowed if allowed is None else [a for a in allowed if a in col.allowed]
    never_null = rules.nullable is False or (refuse and not col.nullable)
    return _Limits(lo, hi, allowed, never_null, sources)


def _value_type(col: ColumnContract, limits: _Limits | None) -> Any:
    """The pydantic type of one value (without null); ``limits`` None: the type alone."""
    if limits is not None and limits.allowed:
        return Literal.__getitem__(tuple(limits.allowed))
    lo = limits.lo if limits is not None else None
    hi = limits.hi if limits is not None else None
    if col.type == "integer":
        if lo is not None and hi is not None and lo >= INT64_MIN and hi <= INT64_MAX:
            return Annotated[int, Strict(), Field(ge=lo, le=hi), BeforeValidator(_whole_number)]
        return Annotated[
            int,
            Strict(),
            Field(ge=lo, le=hi),
            BeforeValidator(_whole_number),
            AfterValidator(_int64),  # no bounds of its own keep it in 64 bits
        ]
    if col.type == "number":
        return Annotated[float, Strict(), Field(ge=lo, le=hi, allow_inf_nan=False)]
    if col.type == "boolean":
        return bool
    if col.type == "datetime":
        return Annotated[datetime, AfterValidator(_naive_utc), BeforeValidator(_no_unix_times)]
    if col.role == "id":  # the log's row key, by which labels are joined: kept whole
        return Annotated[str, Strict(), Field(max_length=MAX_KEY), AfterValidator(_storable_text)]
    return Annotated[str, Strict(), AfterValidator(_storable_text)]


_KIND = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "datetime": "an ISO 8601 date or date-time",
}


def _rule_words(kind: str, lo: float | None, hi: float | None, allowed: list[Any] | None) -> str:
    if allowed:
        return f"one of {_show(allowed)}"
    if lo is not None and hi is not None:
        return f"{kind} between {_num(lo)} and {_num(hi)}"
    if lo is not None:
        return f"{kind} of at least {_num(lo)}"
    if hi is not None:
        return f"{kind} of at most {_num(hi)}"
    return kind


def _describe(col: ColumnContract, limits: _Limits | None) -> str:
    """The rule in plain words, for the OpenAPI schema: 'numeric feature: a whole number ...',
    then what training showed when it only warns."""
    role = "" if col.role in ("unassigned", "") else f"{col.role} "
    if limits is None:
        note = {"pii": "; never stored raw", "sensitive": "; used to check fairness"}
        return (
            f"{role}column (optional; not used by the model{note.get(col.role, '')}): "
            f"{_KIND[col.type]}."
        )
    rule = _rule_words(_KIND[col.type], limits.lo, limits.hi, limits.allowed)
    null = "never null" if limits.never_null else "may be null"
    text = f"{role}feature: {rule}; {null}."
    expected: list[str] = []
    if col.allowed and limits.allowed != col.allowed:
        expected.append(f"one of {_show(col.allowed)}")
    elif not col.allowed and (col.min, col.max) not in ((None, None), (limits.lo, limits.hi)):
        expected.append(_rule_words("values", col.min, col.max, None))
    if not col.nullable and not limits.never_null:
        expected.append("never missing")
    if expected:
        text += f" Training had {', '.join(expected)}; other values are answered with a warning."
    return text


def _example_value(col: ColumnContract, limits: _Limits) -> Any:
    if limits.allowed or col.allowed:
        return (limits.allowed or col.allowed or [None])[0]
    if col.type in ("integer", "number"):
        lo = col.min if col.min is not None else limits.lo
        hi = col.max if col.max is not None else limits.hi
        if lo is not None and hi is not None:
            mid = (float(lo) + float(hi)) / 2
        else:
            mid = float(lo if lo is not None else hi if hi is not None else 0)
        if limits.lo is not None:
            mid = max(mid, float(limits.lo))
        if limits.hi is not None:
            mid = min(mid, float(limits.hi))
        return math.floor(mid) if col.type == "integer" else round(mid, 2)
    return {"string": "text", "boolean": False, "datetime": "2024-01-31T09:30:00"}[col.type]


def build_record_model(
    contract: Contract,
    *,
    target: str,
    features: Sequence[str],
    unknown_columns: UnknownColumns = "reject",
    on_unexpected: OnUnexpected = "answer",
    model_name: str = "Record",
    explained: bool = True,
) -> type[ContractRecord]:
    """The pydantic model of one record the model scores, generated from the contract: the
    rules of each feature refuse, and its expectations too when ``on_unexpected="refuse"``.

    ``explained=False`` gives its plain twin: the same records accepted, the same values, but
    errors as pydantic words them. The API validates with the twin first (a Python wrap
    validator per record and per request costs a few microseconds) and only a body the twin
    refuses again with this model, for the explained errors.

    Raises ``DataContractError`` when a feature is not in the contract or is the target.
    """
    if unknown_columns not in ("reject", "ignore"):
        raise ValueError(f"unknown_columns must be 'reject' or 'ignore'. Got {unknown_columns!r}.")
    if on_unexpected not in ("answer", "refuse"):
        raise ValueError(f"on_unexpected must be 'answer' or 'refuse'. Got {on_unexpected!r}.")
    wanted = list(dict.fromkeys(features))
    if target in wanted:
        raise DataContractError(
            f"The target {target!r} is listed as a feature; a model cannot be sent its answer."
        )
    missing = [f for f in wanted if f not in contract.columns]
    if missing:
        raise DataContractError(
            f"The model's feature(s) {_show(missing)} are not in the data contract.",
            hint="Run `steadyml data check` to bring contract.yaml up to date, then retrain.",
        )
    fields: dict[str, Any] = {}
    taken: set[str] = set()
    types: dict[str, str] = {}
    allowed: dict[str, list[Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    example: dict[str, Any] = {}
    refuse = on_unexpected == "refuse"
    for name, col in contract.columns.items():
        if name == target:
            continue
        feature = name in wanted
        limits = _limits(col, refuse=refuse) if feature else None
        value = _value_type(col, limits)
        required = limits is not None and limits.never_null and col.required
        annotation = value if required else value | None
        info = Field(
            ... if required else None,
            alias=name,
            title=name,
            description=_describe(col, limits),
        )
        fields[_python_name(name, taken)] = (annotation, info)
        types[name] = col.type
        if limits is not None:
            sources[name] = limits.sources
            if limits.allowed:
                allowed[name] = list(limits.allowed)
        if feature or col.role == "id":
            example[name] = _example_value(col, limits or _Limits())
    if explained:
        base: type[ContractRecord] = (
            _ExplainedRecord if unknown_columns == "reject" else _LenientRecord
        )
    else:
        base = ContractRecord if unknown_columns == "reject" else _PlainLenientRecord
    model = create_model(model_name, __base__=base, __module__=__name__, **fields)
    model.contract_columns = tuple(types)
    model.contract_columns_set = frozenset(types)
    model.feature_columns = tuple(wanted)
    model.column_types = types
    model.allowed_values = allowed
    model.bound_sources = sources
    model.example = example
    return model


def extra_columns(record: BaseModel) -> list[str]:
    """The keys of a record that are not contract columns (only kept when unknown columns
    are ignored); the app logs them and drops them."""
    return list(record.model_extra or {})


# --- the request model ----------------------------------------------------------------------


class ContractRequest(BaseModel):
    """Base of the generated ``PredictRequest``: ``{"records": [...]}`` and nothing else."""

    model_config = ConfigDict(extra="forbid")

    #: narrowed to the generated record model by ``build_request_model``
    records: list[ContractRecord] = Field(min_length=1)


class _ExplainedRequest(ContractRequest):
    """A request whose errors name the keys it may have (see ``_ExplainedRecord``)."""

    @model_validator(mode="wrap")
    @classmethod
    def _explain_errors(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            raise _explained(exc, known=list(cls.model_fields), data=data) from None


def build_request_model(
    record_model: type[ContractRecord],
    *,
    max_records: int,
    model_name: str = "PredictRequest",
    explained: bool = True,
) -> type[ContractRequest]:
    """``PredictRequest``: ``{"records": [<record>, ...]}`` with 1 to ``max_records`` records."""
    if max_records < 1:
        raise ValueError(f"max_records must be at least 1. Got {max_records!r} instead.")
    records = Field(
        min_length=1,
        max_length=max_records,
        description=f"The records to score: 1 to {max_records} per request.",
    )
    model = create_model(
        model_name,
        __base__=_ExplainedRequest if explained else ContractRequest,
        __module__=__name__,
        records=(list[record_model], records),  # type: ignore[valid-type]
    )
    model.model_config = {
        **model.model_config,
        "json_schema_extra": {"examples": [{"records": [dict(record_model.example)]}]},
    }
    return model


# --- labels -------------------------------------------------------------------------------


def _feedback_key(value: str) -> str:
    if len(value) > MAX_KEY:
        raise PydanticCustomError(
            "string_too_long",
            "Input must be at most {max_length} characters, the longest id the store keeps; "
            "send the request_id of a prediction's answer or the row's id",
            {"max_length": MAX_KEY},
        )
    return _storable_text(value)


def _label(value: Any) -> Any:
    """A true outcome the store and the monitor can read: a finite number, a whole number
    in 64 bits, true / false, or text the store can keep."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _int64(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        return value
    if isinstance(value, str):
        return _storable_text(value)
    raise PydanticCustomError(
        "label_type",
        "Input must be the true outcome: a number, text or true/false, as the model predicts it",
    )


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: Annotated[str, Strict(), AfterValidator(_feedback_key)] = Field(
        min_length=1,
        json_schema_extra={"maxLength": MAX_KEY},
        description=(
            "The request_id of a prediction result, or a row's id (the project's id column): "
            f"1 to {MAX_KEY} characters."
        ),
    )
    label: Annotated[Any, AfterValidator(_label)] = Field(
        description="The true outcome, once known: a number, text or true/false."
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[FeedbackItem] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="wrap")
    @classmethod
    def _explain_errors(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:  # the values echoed back escaped
            raise _explained(exc, known=list(cls.model_fields), data=data) from None
