"""The packaged service's budget: the installed size of its environment, and a model-only
rebuild (goals from issue 14: an image of at most 500 MB for the sample linear model, a
model-only rebuild under 10 s).

Where no Docker daemon runs (this machine), the image cannot be built, so it measures what
the image would hold and do:

1. the sample churn project trained (linear model) and packaged (``steadyml package``);
2. a clean virtual environment built from the package's ``requirements.txt`` and wheel, as
   the Dockerfile's first stage does (pip's cache warm: the first run downloads), and its
   installed size in MB, with the largest distributions;
3. a second model version trained and packaged with the same wheel (what CI does for a new
   model: the dependency and code layers are unchanged);
4. the model-only rebuild's equivalent: the last two layers' copy (``manifest.json`` and
   ``app/`` into the image's ``/srv/package``), then the service's start from that folder in
   the environment of step 2 until ``/ready`` answers 200 (the start is not part of a rebuild;
   it is what a rollout waits for).

With a Docker daemon (``--docker``), it also builds the image twice (the second time after a
new model only) and reports the image size and the rebuild time. Not run here: no daemon.

    .venv/bin/python bench/package.py
    .venv/bin/python bench/package.py --rounds 3 --docker
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import steadyml
from steadyml.flows.package_verify import (
    _build_env,
    _free_port,
    _stop,
    _wait_ready,
    docker_available,
    folder_mb,
)


def _project(root: Path) -> Path:
    from steadyml.flows.plan import init_from_template

    init_from_template(root, "churn", n_customers=3000, months=6)
    cfg = root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: known only after churn}")
    cfg.write_text(text.replace("min_metric: 0.75", "min_metric: 0.6"), encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        project.train()
        project.promote(1, "production", reason="bench", by="bench", override="bench")
    return root


def _largest(site: Path, n: int = 6) -> list[tuple[str, float]]:
    sizes = [(p.name, folder_mb(p)) for p in site.iterdir() if p.is_dir()]
    return sorted(sizes, key=lambda s: -s[1])[:n]


def _start_to_ready(python: Path, package: Path, data: Path) -> float:
    port = _free_port()
    key = "sml_bench_" + "x" * 30
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
    env.update(STEADYML_DATA_DIR=str(data), STEADYML_PORT=str(port), STEADYML_API_KEY=key)
    t0 = time.perf_counter()
    cmd = [str(python), "-m", "steadyml.serving.packaged", str(package)]
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env=env, stdout=quiet, stderr=quiet)
    try:
        problem = _wait_ready(f"http://127.0.0.1:{port}", proc, 120, key)
        if problem is not None:
            raise SystemExit(f"the packaged service did not start: {problem}")
        return time.perf_counter() - t0
    finally:
        _stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--docker", action="store_true", help="also build the image")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        work = Path(tmp)
        root = _project(work / "churn")
        t0 = time.perf_counter()
        with steadyml.open(root, env={}) as project:
            first = project.package(work / "v1")
        print(f"package v1 (wheel built from source): {time.perf_counter() - t0:.1f} s")
        wheel = next((first.out / "wheels").glob("*.whl"))
        t0 = time.perf_counter()
        python, failure = _build_env(first.out, work / "venv", pip_cache=None, find_links=None)
        if failure:
            raise SystemExit(failure)
        print(f"clean environment from requirements.txt: {time.perf_counter() - t0:.1f} s "
              f"(pip cache warm)")  # fmt: skip
        env_mb = folder_mb(work / "venv")
        print(f"installed size of the environment: {env_mb:.1f} MB")
        site = next((work / "venv" / "lib").glob("python*/site-packages"))
        print("  largest: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in _largest(site)))
        with steadyml.open(root, env={}) as project:
            project.train(force=True)
            t0 = time.perf_counter()
            second = project.package(work / "v2", 2, wheel=wheel)
        print(f"package v2 with the same wheel: {time.perf_counter() - t0:.2f} s")
        copies, starts, restarts = [], [], []
        for i in range(args.rounds):
            image = work / f"image{i}"  # the image's /srv/package, layers 1-2 unchanged
            t0 = time.perf_counter()
            image.mkdir()
            shutil.copyfile(second.out / "manifest.json", image / "manifest.json")
            shutil.copytree(second.out / "app", image / "app")
            copies.append(time.perf_counter() - t0)
            starts.append(_start_to_ready(python, image, work / f"data{i}"))
            restarts.append(_start_to_ready(python, image, work / f"data{i}"))
        app_mb = folder_mb(second.out / "app")
        print(f"model-only rebuild equivalent (copy manifest.json + app/, {app_mb:.2f} MB): "
              f"median {statistics.median(copies) * 1000:.1f} ms over {args.rounds}")  # fmt: skip
        print(f"start to /ready in the prebuilt environment (first start: registration on an "
              f"empty store): median {statistics.median(starts):.2f} s, "
              f"min {min(starts):.2f} s")  # fmt: skip
        print(f"restart to /ready (the store and artifacts already there): median "
              f"{statistics.median(restarts):.2f} s, min {min(restarts):.2f} s")  # fmt: skip
        if args.docker:
            missing = docker_available()
            if missing is not None:
                print(f"Docker: {missing}.")
                return
            for label, folder in (("first build", first.out), ("model-only rebuild", second.out)):
                t0 = time.perf_counter()
                subprocess.run(["docker", "build", "-q", "-t", "bench-package:latest",
                                str(folder)], check=True, capture_output=True)  # fmt: skip
                print(f"docker {label}: {time.perf_counter() - t0:.1f} s")
            size = subprocess.run(["docker", "image", "inspect", "bench-package:latest",
                                   "--format", "{{.Size}}"], capture_output=True, text=True,
                                  check=True).stdout.strip()  # fmt: skip
            print(f"image size: {int(size) / 1e6:.0f} MB")
        print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
