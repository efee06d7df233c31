"""Each fallback strategy answers every record, or says there is no answer; rules are checked."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from factories import customers
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steadyml.errors import SteadyMLError
from steadyml.serving.batcher import BatchError, BatchTimeout, MicroBatcher, ScoreOutput
from steadyml.serving.fallback import (
    FallbackAnswer,
    RuleFallback,
    fallback_reason,
    make_fallback,
)

REASON = "model timed out after 500 ms"


def fitted(estimator: Any, target: str = "churned") -> Pipeline:
    data = customers(300)
    encode = ColumnTransformer(
        [
            ("numeric", StandardScaler(), ["tenure_months"]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["contract"]),
        ]
    )
    pipeline = Pipeline([("encode", encode), ("model", estimator)])
    return pipeline.fit(data.drop(columns=[target]), data[target])


def classifier_score_fn(model: Pipeline) -> Callable[[pd.DataFrame], ScoreOutput]:
    def score(frame: pd.DataFrame) -> ScoreOutput:
        proba = model.predict_proba(frame)
        return ScoreOutput(
            predictions=model.classes_[proba.argmax(axis=1)].tolist(),
            scores=proba[:, 1].tolist(),
        )

    return score


LIVE = pd.DataFrame(
    {
        "tenure_months": [2, 40, None, 5, 70],
        "monthly_charges": [80.0, 55.0, 60.0, 99.0, 20.0],
        "contract": ["month-to-month", "two-year", None, "one-year", "month-to-month"],
    }
)


# --- constant and error --------------------------------------------------------------------


def test_constant_gives_every_record_the_value() -> None:
    answers = make_fallback("constant", value=0.0).answer(LIVE, REASON)
    assert answers == [FallbackAnswer(prediction=0, score=None, reason=REASON)] * len(LIVE)
    assert isinstance(answers[0].prediction, int)  # YAML 0 arrives as 0.0; a class reads as 0


def test_constant_keeps_a_text_label_and_regression_scores_the_number() -> None:
    label = make_fallback("constant", value="stays").answer(LIVE.iloc[:2], REASON)
    assert [a.prediction for a in label] == ["stays", "stays"]
    number = make_fallback("constant", value=312.5, task="regression").answer(LIVE, REASON)
    assert {(a.prediction, a.score) for a in number} == {(312.5, 312.5)}


def test_constant_without_a_value_says_what_to_add() -> None:
    with pytest.raises(SteadyMLError, match=r"serving\.fallback\.value is missing") as caught:
        make_fallback("constant")
    assert caught.value.hint is not None
    assert "value: 0" in caught.value.hint


def test_regression_needs_a_numeric_answer() -> None:
    with pytest.raises(SteadyMLError, match=r"value must be a number.*Got 'high'"):
        make_fallback("constant", value="high", task="regression")


def test_error_strategy_gives_no_answer() -> None:
    assert make_fallback("error").answer(LIVE, REASON) is None


def test_unknown_strategy_and_task_are_refused_with_the_choices() -> None:
    with pytest.raises(
        SteadyMLError, match=r"must be one of constant, rule, previous, error\. Got 'guess'"
    ):
        make_fallback("guess")
    with pytest.raises(SteadyMLError, match="Task must be one of classification, regression"):
        make_fallback("error", task="ranking")


# --- rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"column": "contract", "equals": "month-to-month", "then": 1, "else": 0}, [1, 0, 0, 0, 1]),
        (
            {"column": "contract", "in": ["one-year", "two-year"], "then": "stays", "else": "?"},
            ["?", "stays", "?", "stays", "?"],
        ),
        ({"column": "tenure_months", "below": 6, "then": 1, "else": 0}, [1, 0, 0, 1, 0]),
        ({"column": "monthly_charges", "above": 75, "then": 1, "else": 0}, [1, 0, 0, 1, 0]),
    ],
)
def test_rule_answers_then_where_the_condition_holds(
    rule: dict[str, Any], expected: list[Any]
) -> None:
    answers = make_fallback("rule", rule=rule).answer(LIVE, REASON)
    assert answers is not None
    assert [a.prediction for a in answers] == expected
    assert {a.reason for a in answers} == {REASON}
    assert {a.score for a in answers} == {None}


def test_rule_missing_values_non_numbers_and_a_missing_column_get_else() -> None:
    frame = pd.DataFrame({"tenure_months": [None, "abc", 3, math.nan]})
    below = make_fallback(
        "rule", rule={"column": "tenure_months", "below": 6, "then": 1, "else": 0}
    )
    assert [a.prediction for a in below.answer(frame, REASON) or []] == [0, 0, 1, 0]
    absent = make_fallback("rule", rule={"column": "contract", "equals": "x", "then": 1, "else": 0})
    assert [a.prediction for a in absent.answer(frame, REASON) or []] == [0, 0, 0, 0]


def test_rule_for_regression_scores_its_numbers() -> None:
    rule = {"column": "contract", "equals": "two-year", "then": 20.0, "else": 75.5}
    answers = make_fallback("rule", rule=rule, task="regression").answer(LIVE, REASON) or []
    assert [(a.prediction, a.score) for a in answers][:2] == [(75.5, 75.5), (20.0, 20.0)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (None, "serving.fallback.rule is missing"),
        (["contract"], "must be a mapping"),
        (
            {"column": "contract", "equal": "x", "then": 1, "else": 0},
            "unknown key 'equal'. Did you mean 'equals'[?] Allowed keys: column, equals, in, below, above, then, else",
        ),
        ({"column": "contract", "equals": "x", "then": 1}, "is missing 'else'"),
        ({"equals": "x", "then": 1, "else": 0}, "is missing 'column'"),
        ({"column": "", "equals": "x", "then": 1, "else": 0}, "column must be a column name"),
        (
            {"column": "contract", "then": 1, "else": 0},
            "exactly one condition out of equals, in, below, above. Got none",
        ),
        (
            {"column": "tenure_months", "below": 6, "above": 1, "then": 1, "else": 0},
            "exactly one condition .* Got below, above",
        ),
        (
            {"column": "tenure_months", "below": "six", "then": 1, "else": 0},
            "rule.below must be a number. Got 'six'",
        ),
        (
            {"column": "contract", "in": "one-year", "then": 1, "else": 0},
            "rule.in must be a list of values",
        ),
        ({"column": "contract", "equals": "x", "then": None, "else": 0}, "rule.then must be"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_bad_key(rule: Any, message: str) -> None:
    with pytest.raises(SteadyMLError, match=message) as caught:
        make_fallback("rule", rule=rule)
    assert caught.value.hint is not None  # every rule error shows how a good rule looks


def test_rule_builds_from_the_example_in_the_docs() -> None:
    rule = RuleFallback.from_mapping(
        {"column": "contract", "equals": "month-to-month", "then": 1.0, "else": 0.0},
        "classification",
    )
    assert (rule.column, rule.condition, rule.then, rule.otherwise) == (
        "contract",
        "equals",
        1,
        0,
    )


# --- previous ------------------------------------------------------------------------------


def test_previous_model_answers_when_the_main_model_raises() -> None:
    previous = classifier_score_fn(fitted(LogisticRegression(max_iter=500, C=0.1)))
    current = fitted(LogisticRegression(max_iter=500))
    fallback = make_fallback("previous", previous=previous)

    def broken(frame: pd.DataFrame) -> ScoreOutput:
        current.predict_proba(frame.assign(tenure_months="bad"))  # raises ValueError
        raise AssertionError("unreachable")

    records = customers(4, seed=12).drop(columns="churned")

    async def scenario() -> BaseException:
        batcher = MicroBatcher()
        await batcher.start()
        try:
            await batcher.submit("churn:2", broken, records)
        except BatchError as exc:
            return exc
        finally:
            await batcher.stop()
        raise AssertionError("the broken model must fail")

    error = asyncio.run(scenario())
    reason = fallback_reason(error)
    assert reason.startswith("model raised ValueError: ")
    answers = fallback.answer(records, reason)
    assert answers is not None
    direct = previous(records)
    assert [a.prediction for a in answers] == direct.predictions
    assert [a.score for a in answers] == pytest.approx(direct.scores)
    assert {a.reason for a in answers} == {reason}


def test_previous_model_that_fails_too_gives_no_answer() -> None:
    previous = classifier_score_fn(fitted(LogisticRegression(max_iter=500)))
    fallback = make_fallback("previous", previous=previous)
    missing_columns = pd.DataFrame({"unrelated": [1, 2]})
    assert fallback.answer(missing_columns, REASON) is None


def test_previous_model_with_the_wrong_number_of_answers_gives_no_answer() -> None:
    fallback = make_fallback("previous", previous=lambda f: ScoreOutput([1], [None]))
    assert fallback.answer(LIVE, REASON) is None


def test_previous_without_a_previous_model_is_refused() -> None:
    with pytest.raises(SteadyMLError, match="needs the previous production model") as caught:
        make_fallback("previous")
    assert caught.value.hint is not None
    assert "strategy: constant" in caught.value.hint


def test_previous_regression_model_answers_with_its_numbers() -> None:
    model = fitted(Ridge(), target="monthly_charges")

    def score(frame: pd.DataFrame) -> ScoreOutput:
        values = model.predict(frame).tolist()
        return ScoreOutput(predictions=values, scores=values)

    records = customers(5, seed=21).drop(columns="monthly_charges")
    answers = make_fallback("previous", previous=score, task="regression").answer(records, REASON)
    assert answers is not None
    expected = model.predict(records).tolist()
    assert [a.prediction for a in answers] == pytest.approx(expected)
    assert [a.score for a in answers] == pytest.approx(expected)


# --- reasons -------------------------------------------------------------------------------


def test_reasons_say_why_the_model_was_not_used() -> None:
    assert fallback_reason(BatchTimeout(500)) == "model timed out after 500 ms"
    error = BatchError("The model failed on this request")
    error.__cause__ = ValueError("could not convert string to float: 'abc'\nmore detail")
    assert (
        fallback_reason(error)
        == "model raised ValueError: could not convert string to float: 'abc'"
    )
    assert fallback_reason(KeyError("age")) == "model raised KeyError: 'age'"
    assert fallback_reason(RuntimeError()) == "model raised RuntimeError"
    long = fallback_reason(ValueError("x" * 1000))
    assert len(long) < 250
    assert long.endswith("…")
