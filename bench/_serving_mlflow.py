"""The MLflow side of ``bench/serving.py``: log the fitted pipeline as an MLflow model.

Not meant to be run by hand; ``bench/serving.py`` runs it once with the MLflow virtual
environment's python (``bench/.venvs/mlflow``), then serves the logged model with
``mlflow models serve -m <path> --env-manager local``. It loads the joblib pipeline and logs
it with ``mlflow.sklearn.log_model`` into a local store (``sqlite:///<workdir>/mlflow.db``,
artifacts under ``<workdir>/mlruns``), giving explicit ``pip_requirements`` so nothing is
inferred or fetched. The last line on stdout is ``BENCH_RESULT {"model_path": ...}``: the
local folder of the logged model (its ``MLmodel`` file and the pickled pipeline).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
from pathlib import Path

RESULT_PREFIX = "BENCH_RESULT "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--pip-requirements", default="", help="comma-separated")
    parser.add_argument("--format", default="cloudpickle", choices=("cloudpickle", "pickle"))
    args = parser.parse_args(argv)

    import joblib
    import mlflow
    import mlflow.sklearn
    from mlflow.artifacts import download_artifacts

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    mlflow.set_experiment("serving-bench")
    pipe = joblib.load(args.pipeline)
    kwargs: dict[str, object] = {
        "pip_requirements": [r for r in args.pip_requirements.split(",") if r],
    }
    names = inspect.signature(mlflow.sklearn.log_model).parameters
    kwargs["name" if "name" in names else "artifact_path"] = "model"
    if "serialization_format" in names:
        kwargs["serialization_format"] = args.format
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(pipe, **kwargs)  # type: ignore[arg-type]
    local = download_artifacts(artifact_uri=info.model_uri, dst_path=str(workdir / "served"))
    print(RESULT_PREFIX + json.dumps({"model_path": str(Path(local).resolve())}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
