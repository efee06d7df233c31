"""Repository: training runs (what went in, what came out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from steadyml.entities import Run
from steadyml.errors import NotFoundError
from steadyml.store._base import RepoBase, aware, who
from steadyml.store.models import RunRow


def _run(row: RunRow) -> Run:
    return Run(
        number=row.number,
        run_key=row.run_key,
        status=row.status,
        task=row.task,
        model_type=row.model_type,
        dataset_version=row.dataset_version,
        data_hash=row.data_hash,
        config_hash=row.config_hash,
        code_commit=row.code_commit,
        code_dirty=row.code_dirty,
        params=dict(row.params or {}),
        metrics=dict(row.metrics or {}),
        baseline_metrics=dict(row.baseline_metrics or {}),
        gates_passed=row.gates_passed,
        summary=dict(row.summary or {}),
        training_config=dict(row.training_config or {}),
        package_versions=dict(row.package_versions or {}),
        duration_s=row.duration_s,
        created_by=row.created_by,
        created_at=aware(row.created_at),
        model_version=row.model_version,
    )


class RunsRepo(RepoBase):
    def add_run(self, **fields: Any) -> Run:
        """Record a run; its number is the next one for this project."""
        created_by = fields.pop("created_by", None) or who()

        def build(number: int) -> RunRow:
            return RunRow(
                project=self.project,
                number=number,
                created_by=created_by,
                created_at=dt.datetime.now(dt.UTC),
                **fields,
            )

        return _run(self.add_numbered(RunRow.number, build, what="run"))

    def set_run_model_version(self, number: int, version: int) -> None:
        with self.session() as s:
            s.execute(
                update(RunRow)
                .where(RunRow.project == self.project, RunRow.number == number)
                .values(model_version=version)
            )

    def set_run_decision(self, number: int, decision: dict[str, Any]) -> Run:
        """Keep a retrain's champion/challenger decision with its run (``summary["decision"]``)."""
        with self.session() as s:
            row = s.scalar(
                select(RunRow).where(RunRow.project == self.project, RunRow.number == number)
            )
            if row is None:
                raise NotFoundError(f"Project '{self.project}' has no run {number}.")
            row.summary = {**dict(row.summary or {}), "decision": decision}
            s.flush()
            return _run(row)

    def find_run_by_key(self, run_key: str) -> Run | None:
        with self.reader() as s:
            row = s.scalar(
                select(RunRow)
                .where(
                    RunRow.project == self.project,
                    RunRow.run_key == run_key,
                    RunRow.status == "completed",
                )
                .order_by(RunRow.number.desc())
                .limit(1)
            )
            return None if row is None else _run(row)

    def get_run(self, number: int) -> Run:
        with self.reader() as s:
            row = s.scalar(
                select(RunRow).where(RunRow.project == self.project, RunRow.number == number)
            )
            if row is None:
                numbers = self.numbers(s, RunRow.number)
                have = f"Runs: {numbers[0]}–{numbers[-1]}." if numbers else "There are none yet."
                raise NotFoundError(
                    f"Project '{self.project}' has no run {number}. {have}",
                    hint="List them with `steadyml runs list`.",
                )
            return _run(row)

    def list_runs(self) -> list[Run]:
        with self.reader() as s:
            rows = s.scalars(
                select(RunRow).where(RunRow.project == self.project).order_by(RunRow.number)
            )
            return [_run(r) for r in rows]
