"""The MLflow side of ``bench/tracking.py``; run by it with the MLflow virtual environment's python.

Not meant to be run by hand. It loads the fitted pipeline that ``bench/tracking.py`` pickled
(or, with ``--refit``, fits the same pipeline again from the same data, for when this
environment's scikit-learn differs from steadyml's), then in a fresh local tracking store
(``sqlite:///<workdir>/mlflow.db``, artifacts under ``<workdir>/mlruns``) logs one run per
iteration::

    with mlflow.start_run():
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.sklearn.log_model(pipe, name="model", registered_model_name="churn")

with MLflow's defaults (requirements inference, environment files, MLmodel metadata,
registration); ``--pip-requirements`` gives the requirements instead of inferring them.
The first iteration is a warm-up and is reported apart. The last line on stdout is
``BENCH_RESULT <json>``.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "


def _refit(customers: int) -> Any:
    """Fit the pipeline here with steadyml's training code (same data, same seed)."""
    path = Path(__file__).with_name("tracking.py")
    spec = importlib.util.spec_from_file_location("_steadyml_bench_tracking", path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file sits beside this one
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module.fit(customers, contract=False).outcome.pipeline


def _log_model_kwargs(mlflow_sklearn: Any, pipe: Any, fmt: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"registered_model_name": "churn"}
    names = inspect.signature(mlflow_sklearn.log_model).parameters
    kwargs["name" if "name" in names else "artifact_path"] = "model"
    if "serialization_format" in names:
        kwargs["serialization_format"] = fmt
    if fmt == "skops" and "skops_trusted_types" in names:
        # MLflow's default format refuses types it does not know (steadyml's column
        # preparation step, numpy dtypes) unless the caller lists them as trusted.
        import skops.io

        kwargs["skops_trusted_types"] = skops.io.get_untrusted_types(data=skops.io.dumps(pipe))
    return kwargs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, required=True)
    parser.add_argument("--payload", type=Path, required=True, help="JSON: params, metrics")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--format", default="skops", choices=("skops", "cloudpickle", "pickle"))
    parser.add_argument("--refit", type=int, default=0, metavar="CUSTOMERS")
    parser.add_argument(
        "--pip-requirements",
        default="",
        help="comma-separated requirements given to log_model (skips MLflow's inference)",
    )
    args = parser.parse_args(argv)

    import joblib
    import mlflow
    import mlflow.sklearn
    import sklearn

    pipe = _refit(args.refit) if args.refit else joblib.load(args.pipeline)
    payload = json.loads(args.payload.read_text())
    args.workdir.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{args.workdir.resolve() / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment(
        "bench", artifact_location=(args.workdir.resolve() / "mlruns").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment)
    kwargs = _log_model_kwargs(mlflow.sklearn, pipe, args.format)
    if args.pip_requirements:
        kwargs["pip_requirements"] = args.pip_requirements.split(",")

    def record() -> tuple[float, Any]:
        started = time.perf_counter()
        with mlflow.start_run():
            mlflow.log_params(payload["params"])
            mlflow.log_metrics(payload["metrics"])
            info = mlflow.sklearn.log_model(pipe, **kwargs)
        return time.perf_counter() - started, info

    warmup, info = record()
    times = []
    for _ in range(args.iterations):
        elapsed, info = record()
        times.append(elapsed)
    logged = sorted((args.workdir / "mlruns").rglob("MLmodel"))
    files = sorted(p.name for p in logged[-1].parent.iterdir()) if logged else []
    result = {
        "mlflow": mlflow.__version__,
        "sklearn": sklearn.__version__,
        "python": sys.version.split()[0],
        "format": args.format,
        "refit": bool(args.refit),
        "pip_requirements": kwargs.get("pip_requirements", "inferred"),
        "warmup_s": warmup,
        "times_s": times,
        "model_files": files,
        "last_registered_version": info.registered_model_version,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
