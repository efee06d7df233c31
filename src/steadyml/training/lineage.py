"""Run lineage: which code, which packages, and the key that makes a rerun "up to date".

A run is identified by what went into it: the data content, the configuration that affects
training, the code commit (plus a hash of uncommitted changes) and the steadyml version. The
same key means the same result, so ``steadyml train`` reports the existing run instead of
training again.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("steadyml", "scikit-learn", "pandas", "numpy", "scipy", "pyarrow", "fairlearn")

__all__ = ["CodeVersion", "code_version", "package_versions", "run_key"]


@dataclass(frozen=True)
class CodeVersion:
    commit: str | None
    dirty: bool
    changes_hash: str  # hash of uncommitted changes ("" when clean or not under git)

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "dirty": self.dirty, "changes_hash": self.changes_hash}


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def code_version(root: Path) -> CodeVersion:
    """The git commit of the project folder and whether it has uncommitted changes."""
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return CodeVersion(commit=None, dirty=False, changes_hash="")
    status = _git(root, "status", "--porcelain", "--untracked-files=normal", ".") or ""
    # steadyml's own records are not code
    lines = [ln for ln in status.splitlines() if ".steadyml/" not in ln]
    if not lines:
        return CodeVersion(commit=commit.strip(), dirty=False, changes_hash="")
    diff = _git(root, "diff", "HEAD", "--", ".") or ""
    digest = hashlib.sha256(("\n".join(lines) + "\n" + diff).encode()).hexdigest()
    return CodeVersion(commit=commit.strip(), dirty=True, changes_hash=digest)


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_key(*, data_hash: str, config: dict[str, Any], code: CodeVersion) -> str:
    payload = {
        "data": data_hash,
        "config": config,
        "code": code.to_dict(),
        "packages": package_versions(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    fa, fb = _flatten(a), _flatten(b)
    return [
        {"key": k, "a": fa.get(k), "b": fb.get(k)}
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]


def _code_text(run: Any) -> str:
    text = (run.code_commit or "unknown")[:12]
    return text + (" (uncommitted changes)" if run.code_dirty else "")


def compare_runs(a: Any, b: Any, directions: dict[str, str]) -> dict[str, Any]:
    """What changed between two runs (data, config, code, parameters), then what improved.

    ``directions`` maps a metric name to "higher_is_better" or "lower_is_better".
    """
    changes: dict[str, Any] = {}
    if a.data_hash != b.data_hash:
        changes["data"] = {
            "a": f"v{a.dataset_version} ({a.data_hash[:12]})",
            "b": f"v{b.dataset_version} ({b.data_hash[:12]})",
        }
    config = _diff(a.training_config, b.training_config)
    if config:
        changes["config"] = config
    if (a.code_commit, a.code_dirty) != (b.code_commit, b.code_dirty):
        changes["code"] = {"a": _code_text(a), "b": _code_text(b)}
    if a.model_type != b.model_type:
        changes["model"] = {"a": a.model_type, "b": b.model_type}
    params = _diff(a.params, b.params)
    if params:
        changes["params"] = params
    packages = _diff(a.package_versions, b.package_versions)
    if packages:
        changes["packages"] = packages
    metrics = []
    for name in sorted(set(a.metrics) | set(b.metrics)):
        va, vb = a.metrics.get(name), b.metrics.get(name)
        if not isinstance(va, (int, float)) or not isinstance(vb, (int, float)):
            continue
        if isinstance(va, bool) or isinstance(vb, bool):
            continue
        direction = directions.get(name)
        if direction is None:  # counts and settings such as n or threshold are not scores
            continue
        delta = float(vb) - float(va)
        if abs(delta) < 1e-12:
            verdict = "same"
        elif (delta > 0) == (direction == "higher_is_better"):
            verdict = "improved"
        else:
            verdict = "regressed"
        metrics.append({"metric": name, "a": va, "b": vb, "delta": delta, "verdict": verdict})
    return {"a": a.number, "b": b.number, "changes": changes, "metrics": metrics}
