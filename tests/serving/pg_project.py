"""A copy of the serving template whose metadata store is a PostgreSQL database: trained
there (``versions`` model versions), version 1 promoted, API keys written to keys.txt."""

from __future__ import annotations

from pathlib import Path

from factories import copy_project

import steadyml


def pg_project(template: Path, parent: Path, url: str, *, versions: int = 1) -> Path:
    root = copy_project(template, parent, f"\nstorage:\n  store_url: {url}\n")
    with steadyml.open(root, env={}) as project:
        for i in range(versions):
            project.train(force=i > 0)
        project.promote(1, "production", reason="tests", by="tests")
        keys = {
            "predict": project.create_key("app", ["predict"])[0],
            "feedback": project.create_key("labels", ["feedback"])[0],
            "admin": project.create_key("ops", ["admin"])[0],
        }
    (root / "keys.txt").write_text("\n".join(f"{k}={v}" for k, v in keys.items()))
    return root
