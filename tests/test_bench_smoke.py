"""The steadyml side of ``bench/tracking.py`` still runs and records what ``steadyml train`` does.

No timing is asserted here (performance goals live in ``bench/``); this only keeps the
benchmark from rotting when the store or the registry changes. MLflow is not needed. The
drift benchmark runs its steadyml side only (``--quick --no-evidently``), in seconds.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from steadyml.artifacts import ArtifactStore
from steadyml.registry import load_bundle
from steadyml.store import open_store

BENCH = Path(__file__).resolve().parents[1] / "bench" / "tracking.py"


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bench_tracking", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_steadyml_side_records_runs_with_loadable_model_versions(tmp_path: Path) -> None:
    bench = _load_bench()
    fitted = bench.fit(300, months=2)

    result = bench.steadyml_round(fitted, 2, tmp_path)

    assert len(result["times_s"]) == 2
    store = open_store(str(tmp_path / ".steadyml" / "store.db"), project="bench")
    artifacts = ArtifactStore(str(tmp_path / ".steadyml" / "artifacts"))
    try:
        for number in (1, 2, 3):  # the warm-up and the two timed recordings
            run = store.get_run(number)
            assert run.status == "completed"
            assert run.model_version == number
            mv = store.get_model_version(number)
            assert mv.run_number == number
            bundle = load_bundle(artifacts, mv)
            assert bundle.features == list(fitted.outcome.features)
        # every recording wrote its own artifact, as a retrained model would
        digests = {store.get_model_version(n).artifact_digest for n in (1, 2, 3)}
        assert len(digests) == 3
    finally:
        store.close()


@pytest.mark.slow
def test_drift_bench_quick_runs_without_evidently(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench/drift.py --quick --no-evidently``: the steadyml side finds the planted shifts."""
    spec = importlib.util.spec_from_file_location("_bench_drift", BENCH.parent / "drift.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--quick", "--no-evidently"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert "10,000 rows: steadyml flags cat_2, cat_4, num_00, num_05" in out
    assert "Null simulation, 300 rows per side" in out


@pytest.mark.slow
def test_predlog_bench_runs_and_reads_back_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench/predlog.py`` on a few thousand rows: both sides write and read back every row
    (the benchmark asserts the count); no timing is checked."""
    spec = importlib.util.spec_from_file_location("_bench_predlog", BENCH.parent / "predlog.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--rows", "3000", "--rounds", "1"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert "chunks, 100 rec/request" in out and "ratios (chunks against SQL rows)" in out


def test_retrain_decision_bench_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench/retrain_decision.py --quick``: the decision runs and says where the time went."""
    spec = importlib.util.spec_from_file_location(
        "_bench_retrain", BENCH.parent / "retrain_decision.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--quick"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert "Retrain decision on 2,000 labelled recent rows" in out
    assert "recent_bootstrap" in out and "outcome: " in out


def test_rollout_guardrails_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench/rollout_guardrails.py`` on a few thousand rows: the evaluation sees every
    logged row (the benchmark checks the count); no timing is checked."""
    spec = importlib.util.spec_from_file_location(
        "_bench_rollout", BENCH.parent / "rollout_guardrails.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--rows", "4000", "--rounds", "1"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert "One guardrail evaluation over 4,000 logged predictions" in out
    assert "agreement PASS" in out
