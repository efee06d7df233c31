"""The retrain decision on real models: the paired bootstrap against brute force, and each
outcome (PROMOTE, REJECT, INCONCLUSIVE, a first model) with its sentences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from steadyml.training.bootstrap import paired_bootstrap, prepare, resample_indices
from steadyml.training.challenge import (
    Answers,
    Contender,
    DecisionSettings,
    RowSet,
    decide_challenge,
    decision_markdown,
)
from steadyml.training.evaluate import predict_scores


def _binary(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    segment = np.where(rng.random(n) < 0.5, "north", "south")
    group = np.where(rng.random(n) < 0.5, "a", "b")
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.8, size=n) > 0).astype(int)
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2],
                          "region": segment, "gender": group})  # fmt: skip
    return frame, y


def _fit(frame: pd.DataFrame, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression().fit(frame[["x0", "x1", "x2"]], y)


def _answers(model: LogisticRegression, frame: pd.DataFrame) -> Answers:
    return Answers(predict_scores(model, frame[["x0", "x1", "x2"]], "classification"), 0.5)


def _rowset(name: str, frame: pd.DataFrame, y: np.ndarray, champ: Any, chall: Any) -> RowSet:
    return RowSet(name=name, title=f"the {len(y)} {name} rows", y=y,
                  champion=_answers(champ, frame), challenger=_answers(chall, frame),
                  segments=frame[["region"]], sensitive=frame[["gender"]])  # fmt: skip


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    train, y = _binary(3000, seed=1)
    shuffled = np.random.default_rng(2).permutation(y)
    return {"good": _fit(train, y), "bad": _fit(train, shuffled)}


def _decide(champ: Any, chall: Any, *, recent: int, test: int = 1500, **kw: Any) -> dict:
    r_frame, r_y = _binary(recent, seed=3)
    t_frame, t_y = _binary(test, seed=4)
    sets = [
        _rowset("recent", r_frame, r_y, champ, chall),
        _rowset("test", t_frame, t_y, champ, chall),
    ]
    return decide_challenge(
        task="classification", positive_label=1, success_metric="roc_auc", sets=sets,
        champion=Contender(1, 1.0, True, 1), challenger=Contender(2, 1.2, True, 2),
        settings=DecisionSettings(resamples=400, **kw), labelled=recent * 5, holdout=recent,
    )  # fmt: skip


def test_bootstrap_interval_equals_brute_force_over_the_same_resamples() -> None:
    rng = np.random.default_rng(0)
    n, resamples = 80, 150
    y = rng.integers(0, 2, n)
    pa = np.round(np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1), 2)  # ties on purpose
    pb = np.round(np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1), 2)
    sa = {"proba": np.column_stack([1 - pa, pa]), "classes": np.array([0, 1])}
    sb = {"proba": np.column_stack([1 - pb, pb]), "classes": np.array([0, 1])}
    fast = paired_bootstrap(prepare(y, sa, "classification", positive_label=1, threshold=0.5),
                            prepare(y, sb, "classification", positive_label=1, threshold=0.5),
                            resamples=resamples, seed=11)  # fmt: skip

    def brute(metric: Any, score: bool) -> list[float]:
        diffs = []
        for block in resample_indices(n, resamples, 11):
            for idx in block:
                yi = y[idx]
                a, b = (pa[idx], pb[idx]) if score else (pa[idx] >= 0.5, pb[idx] >= 0.5)
                diffs.append(metric(yi, b) - metric(yi, a))
        return np.percentile(diffs, [2.5, 97.5]).tolist()

    assert fast["roc_auc"]["interval"] == pytest.approx(brute(skm.roc_auc_score, True), abs=1e-12)
    assert fast["accuracy"]["interval"] == pytest.approx(
        brute(skm.accuracy_score, False), abs=1e-12
    )
    assert fast["f1"]["interval"] == pytest.approx(brute(skm.f1_score, False), abs=1e-12)
    assert fast["brier"]["interval"] == pytest.approx(brute(skm.brier_score_loss, True), abs=1e-12)
    assert fast["roc_auc"]["champion"] == pytest.approx(skm.roc_auc_score(y, pa), abs=1e-12)
    assert fast["roc_auc"]["difference"] == pytest.approx(
        skm.roc_auc_score(y, pb) - skm.roc_auc_score(y, pa), abs=1e-12
    )


def test_regression_metrics_equal_sklearn_under_the_same_resamples() -> None:
    rng = np.random.default_rng(5)
    n = 50
    y = rng.normal(size=n) + 4
    a, b = y + rng.normal(scale=0.5, size=n), y + rng.normal(scale=0.3, size=n)
    fast = paired_bootstrap(prepare(y, {"values": a}, "regression"),
                            prepare(y, {"values": b}, "regression"), resamples=200, seed=3)  # fmt: skip
    diffs = [
        skm.r2_score(y[i], b[i]) - skm.r2_score(y[i], a[i])
        for block in resample_indices(n, 200, 3)
        for i in block
    ]
    assert fast["r2"]["interval"] == pytest.approx(np.percentile(diffs, [2.5, 97.5]), abs=1e-9)
    assert fast["mae"]["challenger"] == pytest.approx(skm.mean_absolute_error(y, b), abs=1e-12)


def test_a_better_challenger_is_promoted(models: dict[str, Any]) -> None:
    decision = _decide(models["bad"], models["good"], recent=600)
    assert decision["outcome"] == "PROMOTE", decision["summary"]
    by_name = {c["name"]: c for c in decision["checks"]}
    recent = by_name["success metric (recent)"]
    assert recent["verdict"] == "pass" and recent["interval"][0] > 0
    assert "pass: better" in recent["sentence"] and "95 % interval" in recent["sentence"]
    assert by_name["segments (recent)"]["verdict"] == "pass"
    assert by_name["latency"]["verdict"] == "pass"
    assert {s["name"] for s in decision["sets"]} == {"recent", "test"}
    assert "never promotes by itself" in decision["note"]


def test_a_challenger_trained_on_shuffled_labels_is_rejected(models: dict[str, Any]) -> None:
    decision = _decide(models["good"], models["bad"], recent=600)
    assert decision["outcome"] == "REJECT"
    failed = [c for c in decision["checks"] if c["verdict"] == "fail"]
    assert any(c["name"] == "success metric (recent)" for c in failed)
    assert any("fail: worse" in c["sentence"] for c in failed)
    assert decision["summary"].startswith("REJECT: the challenger failed success metric")


def test_too_few_labels_are_inconclusive_and_say_how_many_are_needed(
    models: dict[str, Any],
) -> None:
    decision = _decide(models["bad"], models["good"], recent=60, min_labelled_rows=200)
    assert decision["outcome"] == "INCONCLUSIVE"
    assert decision["needed_rows"] == 140
    labels = next(c for c in decision["checks"] if c["name"] == "labels")
    assert labels["verdict"] == "inconclusive"
    assert "140 more are needed" in labels["sentence"]
    assert "about 1,000 labelled rows in the window" in labels["sentence"]
    assert "140 more labelled recent rows are needed" in decision["summary"]
    assert [s["name"] for s in decision["sets"]] == ["test"]  # the original test set still


def test_a_segment_that_drops_beyond_the_margin_rejects(models: dict[str, Any]) -> None:
    frame, y = _binary(1200, seed=9)
    good, bad = _answers(models["good"], frame), _answers(models["bad"], frame)
    south = (frame["region"] == "south").to_numpy()
    mixed = {"proba": np.where(south[:, None], bad.scores["proba"], good.scores["proba"]),
             "classes": good.scores["classes"]}  # fmt: skip
    rows = RowSet("recent", "the recent rows", y, good, Answers(mixed, 0.5),
                  frame[["region"]], frame[["gender"]])  # fmt: skip
    decision = decide_challenge(
        task="classification", positive_label=1, success_metric="roc_auc", sets=[rows],
        champion=Contender(1, 1.0), challenger=Contender(2, 1.0),
        settings=DecisionSettings(resamples=200, metric_margin=1.0), labelled=1200, holdout=1200,
    )  # fmt: skip
    seg = next(c for c in decision["checks"] if c["name"] == "segments (recent)")
    assert seg["verdict"] == "fail" and "region=south" in seg["sentence"]
    assert decision["outcome"] == "REJECT"


def test_a_first_model_says_there_is_no_champion() -> None:
    decision = decide_challenge(
        task="classification", positive_label=1, success_metric="roc_auc", sets=[],
        champion=None, challenger=Contender(1, None, True, 1), settings=DecisionSettings(),
        labelled=0, holdout=0,
    )  # fmt: skip
    assert decision["outcome"] == "PROMOTE"
    assert "no production model (champion) yet" in decision["checks"][0]["sentence"]
    failing = decide_challenge(
        task="classification", positive_label=1, success_metric="roc_auc", sets=[],
        champion=None, challenger=Contender(1, None, False, 1), settings=DecisionSettings(),
        labelled=0, holdout=0,
    )  # fmt: skip
    assert failing["outcome"] == "REJECT"


def test_the_decision_renders_as_markdown(models: dict[str, Any]) -> None:
    text = decision_markdown(_decide(models["bad"], models["good"], recent=300))
    assert text.startswith("## Decision: ")
    assert "| check | verdict | what was measured |" in text
    assert "| roc_auc |" in text and "95 % interval" in text


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_the_fairness_gap_equals_trainings_fairness_report(kind: str) -> None:
    from steadyml.training.bootstrap import paired_gap_bootstrap
    from steadyml.training.fairness import fairness_report

    rng = np.random.default_rng(0)
    n = 3000
    groups = rng.choice(["x", "y", "z", "tiny"], p=[0.4, 0.4, 0.19, 0.01], size=n)
    if kind == "binary":
        y = rng.integers(0, 2, n)
        a, b = (np.where(rng.random(n) < p, y, 1 - y) for p in (0.8, 0.75))
        task, positive, measure = "classification", 1, "gap"
    else:
        y = rng.normal(size=n) + 3
        a, b = y + rng.normal(size=n) * (1 + (groups == "x")), y + rng.normal(size=n)
        task, positive, measure = "regression", None, "relative_gap"
    gap = paired_gap_bootstrap(y, a, b, groups, kind, positive, resamples=100, seed=0)
    assert gap is not None
    frame = pd.DataFrame({"g": groups})
    for side, pred in (("champion_gap", a), ("challenger_gap", b)):
        expected = fairness_report(y, pred, frame, task, positive)["columns"]["g"][measure]  # type: ignore[arg-type]
        assert gap[side] == pytest.approx(expected, abs=1e-12)
    lo, hi = gap["interval"]
    assert lo <= gap["widening"] <= hi


def test_an_interval_too_wide_to_tell_is_inconclusive_with_the_rows_needed() -> None:
    train, y = _binary(3000, seed=1)
    good = _fit(train, y)
    weaker = LogisticRegression().fit(train[["x0", "x1", "x2"]].assign(x1=0), y)  # no x1
    frame, truth = _binary(300, seed=3)
    decision = decide_challenge(
        task="classification", positive_label=1, success_metric="roc_auc",
        sets=[_rowset("recent", frame, truth, good, weaker)],
        champion=Contender(1, 1.0), challenger=Contender(2, 1.0),
        settings=DecisionSettings(resamples=300, metric_margin=0.05, min_labelled_rows=100),
        labelled=300, holdout=300,
    )  # fmt: skip
    check = next(c for c in decision["checks"] if c["name"] == "success metric (recent)")
    lo, hi = check["interval"]
    assert check["verdict"] == "inconclusive"
    assert lo < -0.05 and check["value"] > -0.05  # the estimate within the margin, its low end not
    half, room = (hi - lo) / 2, check["value"] + 0.05
    assert check["needed"] == int(np.ceil(300 * (half / room) ** 2)) - 300
    assert f"about {check['needed']:,} more labelled rows" in check["sentence"]
    assert decision["outcome"] == "INCONCLUSIVE" and decision["needed_rows"] == check["needed"]


def test_a_three_class_decision_matches_sklearn() -> None:
    rng = np.random.default_rng(8)
    n = 1500
    x = rng.normal(size=(n, 3))
    y = np.digitize(x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=n), [-0.6, 0.6])
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2],
                          "region": rng.choice(["n", "s"], size=n),
                          "gender": rng.choice(["a", "b"], size=n)})  # fmt: skip
    fit, test = frame.iloc[:1000], frame.iloc[1000:]
    champ = LogisticRegression().fit(fit[["x2"]].assign(x1=fit["x1"]), y[:1000])
    chall = LogisticRegression().fit(fit[["x0", "x1", "x2"]], y[:1000])
    a = predict_scores(champ, test[["x2"]].assign(x1=test["x1"]), "classification")
    b = predict_scores(chall, test[["x0", "x1", "x2"]], "classification")
    rows = RowSet("recent", "the recent rows", y[1000:], Answers(a), Answers(b),
                  test[["region"]], test[["gender"]])  # fmt: skip
    decision = decide_challenge(
        task="classification", positive_label=None, success_metric="f1", sets=[rows],
        champion=Contender(1, 1.0), challenger=Contender(2, 1.0),
        settings=DecisionSettings(resamples=200, fairness_margin=1.0),  # random groups
        labelled=500, holdout=500,
    )  # fmt: skip
    metrics = decision["sets"][0]["metrics"]
    truth, pred = y[1000:], b["proba"].argmax(axis=1)
    assert metrics["accuracy"]["challenger"] == pytest.approx(skm.accuracy_score(truth, pred))
    assert metrics["f1"]["challenger"] == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    assert metrics["roc_auc"]["challenger"] == pytest.approx(
        skm.roc_auc_score(truth, b["proba"], multi_class="ovr")
    )
    assert metrics["log_loss"]["challenger"] == pytest.approx(skm.log_loss(truth, b["proba"]))
    assert decision["outcome"] == "PROMOTE", decision["summary"]
    assert any(c["name"] == "fairness (recent)" for c in decision["checks"])


def test_the_decision_records_how_often_the_two_models_agree(models: dict[str, Any]) -> None:
    # what a rollout's shadow should then see live (flows.rollout._expected_agreement)
    decision = _decide(models["good"], models["good"], recent=600)
    same = {s["name"]: s["agreement"] for s in decision["sets"]}
    assert same["recent"]["all"] == 1.0 and same["recent"]["rows"] == 600
    decision = _decide(models["bad"], models["good"], recent=600)
    for block in decision["sets"]:
        frame, _ = _binary(block["rows"], seed=3 if block["name"] == "recent" else 4)
        a = models["bad"].predict(frame[["x0", "x1", "x2"]])
        b = models["good"].predict(frame[["x0", "x1", "x2"]])
        assert block["agreement"]["all"] == pytest.approx(float(np.mean(a == b)))
        common = np.bincount(a).argmax()
        flagged = (a != common) | (b != common)
        assert block["agreement"]["minority"] == pytest.approx(
            float(np.mean(a[flagged] == b[flagged]))
        )
        assert block["agreement"]["minority_rows"] == int(flagged.sum())
