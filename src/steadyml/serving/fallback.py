"""What the service answers when the model cannot: the configured fallback.

A live service needs a planned answer for the moment the model fails or is too slow. The
project file picks one under ``serving.fallback``::

    serving:
      fallback:
        strategy: rule            # constant | rule | previous | error
        timeout_ms: 500           # how long to wait for the model before falling back
        value: 0                  # constant: the answer for every record
        rule:                     # rule: one simple test on one field
          column: contract
          equals: month-to-month  # or: in: [..], below: 6, above: 100
          then: 1
          else: 0

- ``constant``: every record gets ``value``.
- ``rule``: a simple rule a person can read and defend, such as "customers on a monthly
  contract are at risk".
- ``previous``: the model that was in production before this one answers.
- ``error``: no fallback; the service answers 503 and says why.

Every answer records the ``reason`` the model was not used ("model timed out after 500 ms",
"model raised ValueError: ..."), so the response and the prediction log show it.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from steadyml.errors import SteadyMLError
from steadyml.serving.batcher import BatchError, BatchTimeout, ScoreFn, ScoreOutput

__all__ = [
    "FALLBACK_STRATEGIES",
    "RULE_CONDITIONS",
    "Fallback",
    "FallbackAnswer",
    "fallback_reason",
    "make_fallback",
]

logger = logging.getLogger(__name__)

FALLBACK_STRATEGIES = ("constant", "rule", "previous", "error")
RULE_CONDITIONS = ("equals", "in", "below", "above")
_RULE_KEYS = ("column", *RULE_CONDITIONS, "then", "else")
_TASKS = ("classification", "regression")
_REASON_CHARS = 200  # an exception message is cut to this length in a reason


@dataclass(frozen=True)
class FallbackAnswer:
    """The fallback's answer for one record, and why the model was not used."""

    prediction: Any
    score: float | None
    reason: str


class Fallback(Protocol):
    """Answers for every row of ``frame``, or ``None``: no fallback, answer with an error."""

    def answer(self, frame: pd.DataFrame, reason: str) -> list[FallbackAnswer] | None: ...


def fallback_reason(error: BaseException) -> str:
    """Why the model was not used, in words for the response and the prediction log."""
    if isinstance(error, BatchTimeout):
        return f"model timed out after {error.timeout_ms:g} ms"
    cause = error.__cause__ if isinstance(error, BatchError) and error.__cause__ else error
    message = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    if len(message) > _REASON_CHARS:
        message = message[: _REASON_CHARS - 1] + "…"
    name = type(cause).__name__
    return f"model raised {name}: {message}" if message else f"model raised {name}"


def make_fallback(
    strategy: str,
    *,
    value: Any = None,
    rule: Mapping[str, Any] | None = None,
    previous: ScoreFn | None = None,
    task: str = "classification",
) -> Fallback:
    """The fallback for ``serving.fallback.strategy``; checks its settings now, not live.

    ``value`` is for ``constant``, ``rule`` (a mapping, see the module help) for ``rule``,
    ``previous`` (the score function of the previous production model) for ``previous``.
    """
    if task not in _TASKS:
        raise SteadyMLError(f"Task must be one of {', '.join(_TASKS)}. Got {task!r} instead.")
    if strategy == "constant":
        if value is None:
            raise SteadyMLError(
                "serving.fallback.value is missing: the 'constant' fallback needs the answer "
                "to give for every record.",
                hint="Add for example `value: 0` under serving.fallback in steadyml.yaml.",
            )
        return ConstantFallback(_as_answer(value, task, "serving.fallback.value"), task)
    if strategy == "rule":
        return RuleFallback.from_mapping(rule, task)
    if strategy == "previous":
        if previous is None:
            raise SteadyMLError(
                "The 'previous' fallback needs the previous production model, and there is "
                "none: this is the first model version in production.",
                hint="Use `strategy: constant` or `strategy: rule` under serving.fallback "
                "until a second version has been promoted.",
            )
        return PreviousModelFallback(previous)
    if strategy == "error":
        return NoFallback()
    raise SteadyMLError(
        f"serving.fallback.strategy must be one of {', '.join(FALLBACK_STRATEGIES)}. "
        f"Got {strategy!r} instead."
    )


# --- the strategies ------------------------------------------------------------------------


class NoFallback:
    """``error``: no fallback answer; the service returns 503 with the reason."""

    def answer(self, frame: pd.DataFrame, reason: str) -> list[FallbackAnswer] | None:
        return None


class ConstantFallback:
    """``constant``: the same answer for every record."""

    def __init__(self, value: Any, task: str) -> None:
        self.value = value
        self.score = _score_of(value, task)

    def answer(self, frame: pd.DataFrame, reason: str) -> list[FallbackAnswer] | None:
        return [FallbackAnswer(self.value, self.score, reason) for _ in range(len(frame))]


class PreviousModelFallback:
    """``previous``: the previous production model answers; if it fails too, no fallback."""

    def __init__(self, score_fn: ScoreFn) -> None:
        self.score_fn = score_fn

    def answer(self, frame: pd.DataFrame, reason: str) -> list[FallbackAnswer] | None:
        try:
            output = self.score_fn(frame)
            if not isinstance(output, ScoreOutput):
                raise TypeError(f"expected a ScoreOutput, got {type(output).__name__}")
            if len(output.predictions) != len(frame) or len(output.scores) != len(frame):
                raise ValueError(f"{len(output.predictions)} predictions for {len(frame)} rows")
        except Exception:
            logger.warning("The previous production model failed too", exc_info=True)
            return None
        return [
            FallbackAnswer(prediction, score, reason)
            for prediction, score in zip(output.predictions, output.scores, strict=True)
        ]


class RuleFallback:
    """``rule``: ``then`` where one column meets one condition, ``else`` elsewhere.

    A missing value, a missing column, or (for ``below``/``above``) a value that is not a
    number does not meet the condition, so it gets ``else``.
    """

    def __init__(
        self, column: str, condition: str, operand: Any, then: Any, otherwise: Any, task: str
    ) -> None:
        self.column = column
        self.condition = condition
        self.operand = operand
        self.then = then
        self.otherwise = otherwise
        self._then_score = _score_of(then, task)
        self._else_score = _score_of(otherwise, task)

    @classmethod
    def from_mapping(cls, rule: Mapping[str, Any] | None, task: str) -> RuleFallback:
        """Check a rule from the project file and build it; errors name the bad key."""
        where = "serving.fallback.rule"
        example = (
            "For example: `rule: {column: contract, equals: month-to-month, then: 1, else: 0}`."
        )
        if rule is None:
            raise SteadyMLError(
                f"{where} is missing: the 'rule' fallback needs a rule.", hint=example
            )
        if not isinstance(rule, Mapping):
            raise SteadyMLError(
                f"{where} must be a mapping of keys to values. Got {rule!r} instead.",
                hint=example,
            )
        unknown = [str(k) for k in rule if k not in _RULE_KEYS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], _RULE_KEYS, n=1)
            guess = f" Did you mean {close[0]!r}?" if close else ""
            raise SteadyMLError(
                f"{where} has unknown key {', '.join(repr(k) for k in unknown)}.{guess} "
                f"Allowed keys: {', '.join(_RULE_KEYS)}.",
                hint=example,
            )
        missing = [k for k in ("column", "then", "else") if k not in rule]
        if missing:
            raise SteadyMLError(
                f"{where} is missing {', '.join(repr(k) for k in missing)}.", hint=example
            )
        column = rule["column"]
        if not isinstance(column, str) or not column:
            raise SteadyMLError(
                f"{where}.column must be a column name. Got {column!r} instead.", hint=example
            )
        conditions = [k for k in RULE_CONDITIONS if k in rule]
        if len(conditions) != 1:
            got = ", ".join(conditions) if conditions else "none"
            raise SteadyMLError(
                f"{where} must have exactly one condition out of "
                f"{', '.join(RULE_CONDITIONS)}. Got {got}.",
                hint=example,
            )
        condition = conditions[0]
        operand = rule[condition]
        if condition in ("below", "above") and not _is_number(operand):
            raise SteadyMLError(
                f"{where}.{condition} must be a number. Got {operand!r} instead.", hint=example
            )
        if condition == "in":
            if isinstance(operand, str | bytes) or not isinstance(operand, Sequence | set):
                raise SteadyMLError(
                    f"{where}.in must be a list of values. Got {operand!r} instead.",
                    hint="For example: `in: [month-to-month, two-week]`.",
                )
            operand = list(operand)
        for key in ("then", "else"):
            if rule[key] is None:
                raise SteadyMLError(
                    f"{where}.{key} must be the answer to give. Got nothing (null).",
                    hint=example,
                )
        then = _as_answer(rule["then"], task, f"{where}.then")
        otherwise = _as_answer(rule["else"], task, f"{where}.else")
        return cls(column, condition, operand, then, otherwise, task)

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        """One boolean per row: does the row meet the condition?"""
        if self.column not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        values = frame[self.column]
        if self.condition in ("below", "above"):
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            if self.condition == "below":
                hit = numbers < float(self.operand)
            else:
                hit = numbers > float(self.operand)
            return np.asarray(hit.fillna(False), dtype=bool)
        wanted = self.operand if self.condition == "in" else [self.operand]
        return np.asarray(values.isin(wanted) & values.notna(), dtype=bool)

    def answer(self, frame: pd.DataFrame, reason: str) -> list[FallbackAnswer] | None:
        return [
            FallbackAnswer(self.then, self._then_score, reason)
            if hit
            else FallbackAnswer(self.otherwise, self._else_score, reason)
            for hit in self.matches(frame)
        ]


# --- helpers -------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _as_answer(value: Any, task: str, where: str) -> Any:
    if task == "regression" and not _is_number(value):
        raise SteadyMLError(
            f"{where} must be a number: the model predicts a number (regression). "
            f"Got {value!r} instead."
        )
    # YAML `value: 0` reaches us as 0.0 (the config field is float | str); a class label 0.0
    # would read oddly in a response, so a whole number is given back as an int.
    if task == "classification" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _score_of(value: Any, task: str) -> float | None:
    # A regression answer is its own score; a class label is not a probability.
    if task == "regression" and _is_number(value):
        return float(value)
    return None
