"""Guess the role of every column of a table, for ``steadyml init``.

``infer_roles`` looks at each column's type, number of distinct values, missing values and
name, and returns a ``RoleGuess``: one ``ColumnGuess`` per column (in file order) with a short
reason in plain words, the kind of task the target implies, and warnings about columns that
look like personal data or protected attributes. Roles the user gives always win.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from steadyml.entities import Roles
from steadyml.errors import DataError

__all__ = ["ColumnGuess", "Role", "RoleGuess", "Task", "infer_roles"]

Role = Literal[
    "target", "id", "timestamp", "numeric", "categorical", "text", "drop", "sensitive", "pii"
]
Task = Literal["classification", "regression"]
LogicalType = Literal["integer", "number", "string", "boolean", "datetime"]

MAX_CLASSES = 20  # a numeric target with at most this many whole values is a classification
_DATE_SAMPLE = 500
_TEXT_SAMPLE = 2000

_ID_WORDS = {"id", "uuid", "guid", "key", "identifier", "pk"}
_CODE_WORDS = {
    "code",
    "type",
    "class",
    "category",
    "cat",
    "kind",
    "zip",
    "zipcode",
    "postal",
    "postcode",
    "region",
    "group",
    "status",
}
_TIME_WORDS = {"date", "time", "datetime", "timestamp", "month", "year", "day", "dt", "when"}
_PERSONAL_WORDS = {"email", "phone", "mobile", "telephone", "ssn", "address", "ip", "passport"}
_PERSONAL_NAMES = {
    "name",
    "email",
    "firstname",
    "lastname",
    "fullname",
    "surname",
    "givenname",
    "familyname",
    "username",
    "ipaddress",
    "phonenumber",
    "emailaddress",
}
_PERSON_WORDS = {
    "first",
    "last",
    "full",
    "given",
    "family",
    "customer",
    "user",
    "patient",
    "person",
    "client",
    "employee",
    "contact",
    "middle",
    "maiden",
}
_SENSITIVE_WORDS = {
    "gender",
    "sex",
    "race",
    "ethnicity",
    "ethnic",
    "age",
    "religion",
    "religious",
    "nationality",
    "disability",
    "disabled",
    "marital",
}
_SENTINELS = (-1, -9, -99, -999, -9999, 99, 999, 9999, 99999, 999999)
_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
_NUMERIC_DATE = re.compile(r"9[-/.]9|9 ?[-/.]? ?a|a ?[-/.]? ?9")  # 2012-01-31, 1 Jan, Jan 1
_MONTH = r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"


@dataclass(frozen=True)
class ColumnGuess:
    """The role guessed (or given) for one column, and why."""

    column: str
    role: Role
    reason: str  # short, plain words; shown as a YAML comment
    dtype: LogicalType
    distinct: int
    missing_rate: float


@dataclass(frozen=True)
class RoleGuess:
    """The roles of all columns of a table, the task the target implies, and warnings."""

    target: str
    task: Task
    task_reason: str
    columns: list[ColumnGuess]  # in file order
    warnings: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnGuess:
        """Return the guess for one column (``KeyError`` if the table has no such column)."""
        for guess in self.columns:
            if guess.column == name:
                return guess
        raise KeyError(name)

    def roles(self) -> Roles:
        """The guess as the ``Roles`` of the project file (``drop`` maps column -> reason)."""
        by_role: dict[str, list[str]] = {}
        for guess in self.columns:
            by_role.setdefault(guess.role, []).append(guess.column)
        return Roles(
            target=self.target,
            id=next(iter(by_role.get("id", [])), None),
            timestamp=next(iter(by_role.get("timestamp", [])), None),
            numeric=tuple(by_role.get("numeric", [])),
            categorical=tuple(by_role.get("categorical", [])),
            text=tuple(by_role.get("text", [])),
            sensitive=tuple(by_role.get("sensitive", [])),
            pii=tuple(by_role.get("pii", [])),
            drop={g.column: g.reason for g in self.columns if g.role == "drop"},
        )


@dataclass
class _Profile:
    name: str
    dtype: LogicalType
    values: pd.Series  # the non-missing values
    rows: int
    distinct: int

    @property
    def missing_rate(self) -> float:
        return round(1 - len(self.values) / self.rows, 4) if self.rows else 0.0

    @property
    def unique_share(self) -> float:
        return self.distinct / len(self.values) if len(self.values) else 0.0


def infer_roles(
    df: pd.DataFrame,
    *,
    target: str,
    id: str | None = None,  # noqa: A002 - mirrors the --id option
    timestamp: str | None = None,
    sensitive: Sequence[str] = (),
    pii: Sequence[str] = (),
) -> RoleGuess:
    """Guess the role of every column of ``df``; the columns named here keep the given role.

    Raises ``DataError`` when a named column is not in the table (with close matches), when a
    column is given two roles, or when the target cannot be learned (one class, all missing).
    """
    if len(df.columns) != len(set(map(str, df.columns))):
        raise DataError("The table has repeated column names; give every column a unique name.")
    given = _given_roles(
        df, target=target, id=id, timestamp=timestamp, sensitive=sensitive, pii=pii
    )
    if len(df) == 0:
        raise DataError(
            "The table has no rows, so there is nothing to learn from.",
            hint="Check that the data file has rows below its header.",
        )
    profiles = {str(name): _profile(str(name), df[name]) for name in df.columns}
    notes: list[str] = []
    task, task_reason = _task(profiles[target], notes)

    guesses: dict[str, tuple[Role, str]] = {}
    for name, prof in profiles.items():
        if name in given:
            guesses[name] = _given_reason(given[name], prof, notes)
        else:
            guesses[name] = _guess(prof)
    _settle_timestamps(guesses, given)
    _settle_ids(guesses, profiles, given)

    for name, (role, _reason) in guesses.items():
        if role == "numeric" or (role == "categorical" and profiles[name].dtype == "integer"):
            notes.extend(_sentinel_warnings(profiles[name]))
    notes.extend(_privacy_warnings(profiles, given))
    columns = [
        ColumnGuess(
            column=name,
            role=role,
            reason=reason,
            dtype=profiles[name].dtype,
            distinct=profiles[name].distinct,
            missing_rate=profiles[name].missing_rate,
        )
        for name, (role, reason) in guesses.items()
    ]
    return RoleGuess(
        target=target, task=task, task_reason=task_reason, columns=columns, warnings=notes
    )


# -- names given by the user -------------------------------------------------------------------


def _given_roles(
    df: pd.DataFrame,
    *,
    target: str,
    id: str | None,  # noqa: A002
    timestamp: str | None,
    sensitive: Iterable[str],
    pii: Iterable[str],
) -> dict[str, Role]:
    names = [str(c) for c in df.columns]
    asked: list[tuple[str, Role]] = [(target, "target")]
    asked += [(id, "id")] if id is not None else []
    asked += [(timestamp, "timestamp")] if timestamp is not None else []
    asked += [(c, "sensitive") for c in sensitive] + [(c, "pii") for c in pii]
    given: dict[str, Role] = {}
    for column, role in asked:
        option = f"--{role}"
        if not isinstance(column, str) or column not in names:
            raise _unknown_column(column, option, names)
        if column in given and given[column] != role:
            raise DataError(
                f"Column '{column}' is given both as --{given[column]} and as {option}.",
                hint="Give each column one role.",
            )
        given[column] = role
    return given


def _unknown_column(column: object, option: str, names: list[str]) -> DataError:
    close = difflib.get_close_matches(str(column), names, n=3, cutoff=0.6)
    close += [n for n in names if n.lower() == str(column).lower() and n not in close]
    shown = ", ".join(f"'{n}'" for n in names[:30])
    more = f" and {len(names) - 30} more" if len(names) > 30 else ""
    did_you_mean = ("Did you mean " + " or ".join(f"'{n}'" for n in close) + "? ") if close else ""
    return DataError(
        f"Column '{column}' given with {option} is not in the data.",
        hint=f"{did_you_mean}The columns are: {shown}{more}.",
    )


def _given_reason(role: Role, prof: _Profile, notes: list[str]) -> tuple[Role, str]:
    if role == "id" and prof.distinct < len(prof.values):
        repeats = len(prof.values) - prof.distinct
        notes.append(
            f"Column '{prof.name}' (given with --id) has {repeats} repeated "
            "values; an id should be different in every row."
        )
    if role == "timestamp" and prof.dtype == "string" and _date_share(prof.values) < 0.95:
        notes.append(
            f"Column '{prof.name}' (given with --timestamp) does not look like dates "
            f"(e.g. {_examples(prof.values, 2)}); check that it is the right column."
        )
    reasons: dict[Role, str] = {
        "target": "what the model learns to predict (given with --target)",
        "id": "given with --id: tells rows apart, never used to learn",
        "timestamp": "given with --timestamp: orders the rows",
        "sensitive": "given with --sensitive: kept out of the features, used to compare groups",
        "pii": "given with --pii: personal data, never used as a feature",
    }
    return role, reasons[role]


# -- profiling ---------------------------------------------------------------------------------


def _profile(name: str, column: pd.Series) -> _Profile:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    values = column.dropna()
    dtype = _logical_type(column, values)
    try:
        distinct = int(values.nunique())
    except TypeError:  # unhashable objects such as lists
        values = values.astype(str)
        distinct = int(values.nunique())
    return _Profile(name=name, dtype=dtype, values=values, rows=len(column), distinct=distinct)


def _logical_type(column: pd.Series, values: pd.Series) -> LogicalType:
    if pd.api.types.is_bool_dtype(column.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(column.dtype):
        if pd.api.types.is_integer_dtype(column.dtype):
            return "integer"
        return "integer" if _whole(values) else "number"
    kind = pd.api.types.infer_dtype(values, skipna=True) if len(values) else "string"
    if kind == "boolean":
        return "boolean"
    if kind in {"datetime", "datetime64", "date"}:
        return "datetime"
    if kind == "integer":
        return "integer"
    if kind in {"floating", "mixed-integer-float", "decimal"}:
        return "integer" if _whole(values) else "number"
    return "string"


def _whole(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(numbers)
    return bool(len(numbers)) and bool(finite.all()) and bool((numbers == np.floor(numbers)).all())


# -- the target --------------------------------------------------------------------------------


def _task(prof: _Profile, notes: list[str]) -> tuple[Task, str]:
    name = prof.name
    if prof.values.empty:
        raise DataError(
            f"Target column '{name}' is empty: every value is missing.",
            hint="Choose the column that holds the outcome to predict.",
        )
    if prof.distinct < 2:
        raise DataError(
            f"Target column '{name}' has only one value ({_examples(prof.values, 1)}) in all "
            f"{len(prof.values)} rows that have one: a model needs at least two different "
            "outcomes to learn from.",
            hint="Check the data file, or choose another --target column.",
        )
    if prof.dtype == "datetime":
        raise DataError(
            f"Target column '{name}' holds dates; steadyml predicts classes or numbers.",
            hint="Choose another --target, or give this one as --timestamp.",
        )
    if prof.missing_rate > 0:
        missing = prof.rows - len(prof.values)
        notes.append(
            f"Target '{name}' is missing in {missing} rows "
            f"({prof.missing_rate:.1%}); those rows cannot be used for training."
        )
    if prof.dtype in {"integer", "number"}:
        few = prof.distinct <= 2 or len(prof.values) >= 5 * prof.distinct
        if prof.dtype == "integer" and prof.distinct <= MAX_CLASSES and few:
            task: Task = "classification"
            reason = (
                f"'{name}' holds whole numbers with only {prof.distinct} distinct values "
                f"({_examples(prof.values, 5, sort=True)}): treated as classes"
            )
        else:
            task = "regression"
            kind = "decimal numbers" if prof.dtype == "number" else "whole numbers"
            reason = f"'{name}' holds {kind} with {prof.distinct} distinct values: a quantity"
    else:
        task = "classification"
        kind = "true/false values" if prof.dtype == "boolean" else "labels"
        reason = (
            f"'{name}' holds {kind} with {prof.distinct} classes "
            f"({_examples(prof.values, 5, sort=True)})"
        )
    if task == "classification":
        counts = prof.values.value_counts()
        rare = [str(v) for v, n in counts.items() if n < 2]
        if rare:
            notes.append(
                f"Target '{name}' has classes seen in only one row ({_list(rare)}); a model "
                "cannot learn them and they cannot be split into training and test data. "
                "Remove those rows or merge them into another class."
            )
    return task, reason


# -- the guess for one column ------------------------------------------------------------------


def _guess(prof: _Profile) -> tuple[Role, str]:
    words = _words(prof.name)
    if prof.values.empty:
        return "drop", "empty: every value is missing"
    if prof.distinct <= 1:
        return "drop", "constant: the same value in every row"
    if prof.dtype == "boolean":
        return "categorical", "true/false values"
    if prof.dtype == "datetime":
        return "timestamp", "dates"
    if prof.dtype in {"integer", "number"}:
        return _guess_number(prof, words)
    strings = prof.values.astype(str)
    share = _date_share(strings)
    if share >= 0.95 or (share >= 0.8 and words & _TIME_WORDS):
        return "timestamp", f"dates such as {_show(strings.iloc[0])}"
    if _is_text(strings, prof):
        words_per_value = strings.iloc[:_TEXT_SAMPLE].str.split().str.len().mean()
        return "text", f"free text: about {words_per_value:.0f} words a value"
    hinted = bool(words & _ID_WORDS) or "code" in words
    if prof.unique_share >= 0.95 and (hinted or len(prof.values) > 50):
        return "id", _unique_reason(prof)
    if prof.distinct <= max(50, len(prof.values) // 100):
        return "categorical", (
            f"text with {prof.distinct} distinct values ({_examples(strings, 3)})"
        )
    return "drop", (
        f"{prof.distinct} distinct values: too many categories to learn from; consider grouping it"
    )


def _guess_number(prof: _Profile, words: set[str]) -> tuple[Role, str]:
    numbers = pd.to_numeric(prof.values, errors="coerce").astype(float)
    low, high = numbers.min(), numbers.max()
    if prof.dtype == "number":
        return "numeric", f"decimal numbers from {low:g} to {high:g}"
    unique_rows = prof.distinct == prof.rows
    sequence = unique_rows and high - low + 1 == prof.rows
    if (unique_rows or prof.unique_share >= 0.95) and (words & _ID_WORDS or sequence):
        return "id", _unique_reason(prof)
    if prof.distinct <= 2:
        shown = " and ".join(_examples(numbers, 2, sort=True).split(", "))
        return "categorical", f"only two values ({shown}): a yes/no flag"
    if words & {"year", "yr"}:
        return "numeric", f"whole numbers from {low:g} to {high:g}: years kept as numbers"
    if words & _CODE_WORDS and prof.distinct <= 50:
        return "categorical", (
            f"whole numbers with {prof.distinct} distinct values and a name "
            "that suggests codes, not amounts"
        )
    real = numbers[~numbers.isin(_outlying_sentinels(numbers))]
    if prof.distinct <= 10 and _looks_like_codes(real):
        return "categorical", (
            f"whole numbers with only {prof.distinct} distinct values "
            f"({_examples(numbers, 5, sort=True)}): looks like codes, "
            "not amounts"
        )
    return "numeric", f"whole numbers from {low:g} to {high:g}"


def _looks_like_codes(numbers: pd.Series) -> bool:
    """True for few, scattered or large whole numbers; false for small counts like 0..5."""
    distinct = np.unique(numbers.to_numpy())
    if len(distinct) < 2:
        return False
    low, high = float(distinct.min()), float(distinct.max())
    span = high - low + 1
    small_counts = low >= 0 and high <= 20 and span <= 2 * len(distinct)
    return not small_counts


def _is_text(strings: pd.Series, prof: _Profile) -> bool:
    sample = strings.iloc[:_TEXT_SAMPLE]
    if sample.str.len().mean() < 25:
        return False
    return bool(sample.str.split().str.len().mean() >= 4) and prof.unique_share > 0.3


def _unique_reason(prof: _Profile) -> str:
    if prof.distinct == prof.rows:
        return "unique for every row"
    return f"{prof.distinct} distinct values in {len(prof.values)} rows: almost unique"


def _date_share(values: pd.Series) -> float:
    """Share of a sample of ``values`` that parse as dates written in one consistent way."""
    strings = values.astype(str)
    if len(strings) > _DATE_SAMPLE:
        picks = np.linspace(0, len(strings) - 1, _DATE_SAMPLE).astype(int)
        strings = strings.iloc[np.unique(picks)]
    strings = strings.str.strip()
    if strings.empty or strings.str.len().max() > 40:
        return 0.0
    plain = strings.str.replace(r"(?<=\d)[Tt](?=\d)", " ", regex=True).str.replace(
        r"(?<=\d)Z$|\b(?:UTC|GMT|[AaPp][Mm])\b", "", regex=True
    )
    shapes = plain.str.replace(r"\d+", "9", regex=True).str.replace(r"[A-Za-z]+", "a", regex=True)
    counts = shapes.value_counts()
    top_shape, top_count = str(counts.index[0]), int(counts.iloc[0])
    if top_count / len(strings) < 0.8 or not _NUMERIC_DATE.search(top_shape):
        return 0.0
    months = plain.str.contains(_MONTH)
    if "a" in top_shape and months.mean() < 0.8:
        return 0.0  # letters, but not month names: '1st', 'A-12'
    if (months | plain.str.contains(r"\d{4}")).mean() < 0.8:
        return 0.0  # no year and no month name: '1.5.6' is a version, not a date
    best = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in ("ISO8601", "mixed"):
            try:
                parsed = pd.to_datetime(strings, format=fmt, errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                continue
            best = max(best, float(parsed.notna().mean()))
            if best >= 0.95:
                break
    return min(best, top_count / len(strings))


# -- settling columns that only one may hold ---------------------------------------------------


def _settle_timestamps(guesses: dict[str, tuple[Role, str]], given: dict[str, Role]) -> None:
    """The first date column becomes the timestamp (unless one is given); others are dropped."""
    chosen = "timestamp" in given.values()
    for name, (role, reason) in guesses.items():
        if role != "timestamp" or name in given:
            continue
        if not chosen:
            guesses[name] = ("timestamp", f"{reason}: orders the rows")
            chosen = True
        else:
            guesses[name] = (
                "drop",
                f"{reason}: a model can't use raw dates; derive features "
                "such as the day of the week if they matter",
            )


def _settle_ids(
    guesses: dict[str, tuple[Role, str]], profiles: dict[str, _Profile], given: dict[str, Role]
) -> None:
    """One fully unique column becomes the id (unless one is given); others are dropped."""
    candidates = [n for n, (role, _) in guesses.items() if role == "id" and n not in given]
    full = [n for n in candidates if profiles[n].distinct == profiles[n].rows]
    hinted = [n for n in full if _words(n) & _ID_WORDS]
    plain = [n for n in full if not _looks_personal(profiles[n])]  # a name is no id
    keep = None if "id" in given.values() else next(iter(hinted + plain), None)
    for name in candidates:
        if name == keep:
            guesses[name] = ("id", f"{guesses[name][1]}: tells rows apart, never used to learn")
        else:
            guesses[name] = (
                "drop",
                f"{guesses[name][1]}: an identifier carries no pattern a model can learn",
            )


# -- warnings ----------------------------------------------------------------------------------


def _outlying_sentinels(numbers: pd.Series) -> list[float]:
    """Values such as -1 or 999 that sit far from all other values of the column."""
    found: list[float] = []
    present = set(np.unique(numbers.to_numpy()))
    for code in _SENTINELS:
        if code not in present:
            continue
        rest = numbers[numbers != code]
        if rest.empty:
            continue
        below = code < 0 and rest.min() >= 0
        above = code > 0 and rest.max() > 0 and code >= 3 * rest.abs().max()
        if below or above:
            found.append(float(code))
    return found


def _sentinel_warnings(prof: _Profile) -> list[str]:
    numbers = pd.to_numeric(prof.values, errors="coerce").astype(float)
    notes = []
    for code in _outlying_sentinels(numbers):
        rest = numbers[numbers != code]
        count = int((numbers == code).sum())
        notes.append(
            f"Column '{prof.name}' has {code:g} in {count} rows, far from its other values "
            f"({rest.min():g} to {rest.max():g}): this looks like a code for 'unknown', not a "
            "real value. Leave those cells empty instead, so they count as missing."
        )
    return notes


def _privacy_warnings(profiles: dict[str, _Profile], given: dict[str, Role]) -> list[str]:
    personal = [
        n
        for n, p in profiles.items()
        if given.get(n) not in {"pii", "target"} and _looks_personal(p)
    ]
    protected = [
        n
        for n in profiles
        if given.get(n) not in {"sensitive", "pii", "target"} and _words(n) & _SENSITIVE_WORDS
    ]
    notes = []
    if len(personal) == 1:
        notes.append(
            f"Column '{personal[0]}' looks like personal data; consider "
            f"--pii {personal[0]} so it is never used as a feature."
        )
    elif personal:
        notes.append(
            f"Columns {_list(personal)} look like personal data; consider "
            f"--pii {','.join(personal)} so they are never used as features."
        )
    if len(protected) == 1:
        notes.append(
            f"Column '{protected[0]}' may describe a protected group; consider "
            f"--sensitive {protected[0]} to keep it out of the features and compare "
            "the model across groups."
        )
    elif protected:
        notes.append(
            f"Columns {_list(protected)} may describe protected groups; consider "
            f"--sensitive {','.join(protected)} to keep them out of the features and "
            "compare the model across groups."
        )
    return notes


def _looks_personal(prof: _Profile) -> bool:
    words = _words(prof.name)
    compact = "".join(words)
    if words & _PERSONAL_WORDS or compact in _PERSONAL_NAMES:
        return True
    if "name" in words and words & _PERSON_WORDS:
        return True
    if prof.dtype != "string" or prof.values.empty:
        return False
    sample = prof.values.astype(str).iloc[:200]
    return bool(sample.str.match(_EMAIL).mean() >= 0.5)


# -- small helpers -----------------------------------------------------------------------------


def _words(name: str) -> set[str]:
    """'CustomerID' -> {'customer', 'id'}; 'e-mail' -> {'e', 'mail', 'email'}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    parts = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    found = set(parts)
    if len(parts) > 1:
        found.add("".join(parts))
    return found


def _examples(values: pd.Series, n: int, *, sort: bool = False) -> str:
    unique = pd.unique(values.to_numpy())
    if sort:
        with contextlib.suppress(TypeError):
            unique = np.sort(unique)
    shown = [_show(v) for v in unique[:n]]
    return ", ".join(shown) + (", ..." if len(unique) > n else "")


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 30 else value[:27] + "...")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _list(names: Sequence[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")
