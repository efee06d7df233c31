"""``steadyml init``: write a project file (and, for a template, its sample data).

Two ways in: a template (``churn``) with a full statement, owners and generated data; or the
user's own CSV/Parquet file, whose column roles are inferred and written with a short comment
on why each was chosen, for the user to review.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from steadyml.config import CONFIG_FILENAME, UNWRITTEN, load_config
from steadyml.config.keyfile import key_file, new_key, write_key_file
from steadyml.errors import ConfigError, DataError

TEMPLATES = ("churn",)
Progress = Callable[[str], None]

__all__ = ["InitResult", "init_from_template", "init_from_data", "TEMPLATES"]


@dataclass(frozen=True)
class InitResult:
    root: Path
    config_path: Path
    data_path: Path
    rows: int
    columns: int
    roles: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "config": str(self.config_path),
            "data": str(self.data_path),
            "rows": self.rows,
            "columns": self.columns,
            "roles": self.roles,
            "warnings": self.warnings,
        }


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-._")
    return s or "project"


def _prepare(root: Path, force: bool) -> Path:
    root = root.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(
            f"{root} exists and is not a folder.", hint="Choose a new folder name for the project."
        )
    cfg = root / CONFIG_FILENAME
    if cfg.exists() and not force:
        raise ConfigError(
            f"{cfg} already exists; steadyml will not overwrite a project file.",
            hint="Choose another folder, or pass --force to replace it (data and records stay).",
        )
    root.mkdir(parents=True, exist_ok=True)
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(
            "# steadyml's local stores (metadata and artifacts) and the key for hashing\n"
            "# personal data (.steadyml/pii.key): never commit them\n.steadyml/\n",
            encoding="utf-8",
        )
    # the key that hashes personal data (serving.pii_handling: hash) lives here, never in the
    # store beside the hashes; an existing one (init --force) is kept
    write_key_file(key_file(root), new_key())
    return cfg


def init_from_template(
    root: str | Path,
    template: str = "churn",
    *,
    seed: int = 7,
    n_customers: int = 20_000,
    months: int = 12,
    force: bool = False,
    progress: Progress | None = None,
) -> InitResult:
    """Create a sample project: the statement, owners, column roles and generated data."""
    if template not in TEMPLATES:
        import difflib

        close = difflib.get_close_matches(template, TEMPLATES, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"--template {template!r} is not a template.{hint} Available: {', '.join(TEMPLATES)}."
        )
    say = progress or (lambda _m: None)
    path = Path(root)
    cfg = _prepare(path, force)
    from steadyml.samples.churn import make_churn_history

    say(f"Generating {n_customers:,} customers over {months} monthly snapshots (seed {seed})")
    frame = make_churn_history(n_customers=n_customers, months=months, seed=seed)
    data_dir = cfg.parent / "data"
    data_dir.mkdir(exist_ok=True)
    data_path = data_dir / "churn.csv"
    say(f"Writing {data_path.name}")
    tmp = data_path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False, date_format="%Y-%m-%d")
    tmp.replace(data_path)
    text = resources.files("steadyml.samples").joinpath(f"{template}.yaml").read_text("utf-8")
    cfg.write_text(text.format(name=_slug(cfg.parent.name)), encoding="utf-8")
    loaded = load_config(cfg)  # the template must always be valid
    roles = loaded.config.data.columns
    return InitResult(
        root=cfg.parent,
        config_path=cfg,
        data_path=data_path,
        rows=len(frame),
        columns=len(frame.columns),
        roles={
            "numeric": roles.numeric,
            "categorical": roles.categorical,
            "sensitive": roles.sensitive,
            "pii": roles.pii,
        },
    )


def _q(value: str) -> str:
    """A YAML-safe scalar."""
    import yaml

    dumped: str = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def init_from_data(
    root: str | Path,
    data: str | Path,
    *,
    target: str,
    id: str | None = None,  # noqa: A002 - mirrors the --id option
    timestamp: str | None = None,
    sensitive: Sequence[str] = (),
    pii: Sequence[str] = (),
    force: bool = False,
    progress: Progress | None = None,
) -> InitResult:
    """Create a project around the user's own file, inferring each column's role."""
    from steadyml.data.loading import read_table_with_notes
    from steadyml.data.roles import infer_roles

    say = progress or (lambda _m: None)
    data_path = Path(data).expanduser().resolve()
    if not data_path.exists():
        raise DataError(
            f"--data {data}: no such file ({data_path}).",
            hint="Give the path of a CSV or Parquet file.",
        )
    say(f"Reading {data_path.name}")
    frame, notes = read_table_with_notes(data_path)
    say("Inferring the role of each column")
    guess = infer_roles(
        frame, target=target, id=id, timestamp=timestamp, sensitive=tuple(sensitive), pii=tuple(pii)
    )
    cfg = _prepare(Path(root), force)
    try:
        source = str(data_path.relative_to(cfg.parent))
    except ValueError:
        source = str(data_path)
    cfg.write_text(_render_data_project(cfg.parent.name, source, guess), encoding="utf-8")
    load_config(cfg)  # what we write must load
    by_role: dict[str, list[str]] = {}
    for c in guess.columns:
        by_role.setdefault(c.role, []).append(c.column)
    return InitResult(
        root=cfg.parent,
        config_path=cfg,
        data_path=data_path,
        rows=len(frame),
        columns=len(frame.columns),
        roles=by_role,
        warnings=[*notes, *guess.warnings],
    )


def _split_lines(guess: Any, has_timestamp: bool) -> list[str]:
    """training.split for the guessed data: the user's own split column when there is one."""
    from steadyml.config.schema import SPLIT_TEST_VALUES

    if guess.split_column is not None:
        lines = [
            "    method: column   # the data says which rows are test rows: keep that split",
            f"    column: {_q(guess.split_column)}",
        ]
        wanted = {v.strip().lower() for v in guess.split_test_values}
        if not wanted <= set(SPLIT_TEST_VALUES):
            shown = ", ".join(_q(v) for v in guess.split_test_values)
            lines.append(f"    test_values: [{shown}]   # the values that mark a test row")
        return lines
    if has_timestamp:
        method = "time   # a timestamp exists: train on the past, test on the latest rows"
    elif guess.group_column is not None:
        return [
            "    method: group   # the id repeats: each id's rows stay together, so the test "
            "rows are ids the model has not seen",
            f"    column: {_q(guess.group_column)}",
            "    test_size: 0.2",
        ]
    elif guess.task == "classification":
        method = "stratified   # keeps each class's share in training and test"
    else:
        method = "random"
    return [f"    method: {method}", "    test_size: 0.2"]


def _render_data_project(name: str, source: str, guess: Any) -> str:
    def comment(col: Any) -> str:
        return f"# {col.reason}"

    by_role: dict[str, list[Any]] = {}
    for c in guess.columns:
        by_role.setdefault(c.role, []).append(c)
    special = {c.role: c for c in guess.columns if c.role in ("target", "id", "timestamp")}
    lines = [
        "# steadyml project file, written by `steadyml init --data`.",
        "# REVIEW IT: the roles below were guessed from the data; each has a comment saying why.",
        f"# Replace each {UNWRITTEN!r} below with your words; until then every command lists",
        "# them as not written. Then run `steadyml data check`.",
        "version: 1",
        "",
        "project:",
        f"  name: {_q(_slug(name))}",
        f"  problem: {_q(UNWRITTEN + ' the business problem, in one or two sentences')}",
        f"  prediction_target: {_q('the value of ' + guess.target)}",
        f"  users: {_q(UNWRITTEN + ' who uses the prediction, and for what decision')}",
        "  success_metric:",
        f"    name: {'roc_auc' if guess.task == 'classification' else 'mae'}",
        f"    threshold: {0.7 if guess.task == 'classification' else 1.0}   # a first guess: "
        "set the value that makes the model useful",
        "    direction: "
        + ("higher_is_better" if guess.task == "classification" else "lower_is_better"),
        "  mode: batch            # batch or realtime or both",
        f"  mode_reason: {_q(UNWRITTEN + ' why batch or real-time')}",
        "",
        "owners:",
        f"  model: {_q(UNWRITTEN + ' who owns the model quality')}",
        f"  deployment: {_q(UNWRITTEN + ' who runs the batch job or the service')}",
        f"  monitoring: {_q(UNWRITTEN + ' who answers alerts')}",
        f"  release_approver: {_q(UNWRITTEN + ' who approves a release to production')}",
        "",
        "data:",
        f"  source: {_q(source)}",
        f"  target: {_q(guess.target)}   {comment(special['target'])}",
        f"  task: {guess.task}   # {guess.task_reason}",
    ]
    for role in ("id", "timestamp"):
        if role in special:
            lines.append(f"  {role}: {_q(special[role].column)}   {comment(special[role])}")
    lines.append("  columns:")
    for role in ("numeric", "categorical", "text", "sensitive", "pii"):
        cols = by_role.get(role, [])
        if not cols:
            lines.append(f"    {role}: []")
            continue
        lines.append(f"    {role}:")
        for c in cols:
            lines.append(f"      - {_q(c.column)}   {comment(c)}")
    dropped = by_role.get("drop", [])
    if dropped:
        lines.append("    drop:")
        for c in dropped:
            lines.append(f"      {_q(c.column)}: {_q(c.reason)}")
    else:
        lines.append("    drop: {}")
    lines += [
        "",
        "training:",
        "  split:",
        *_split_lines(guess, "timestamp" in special),
        "  models: [linear, hist_gradient_boosting]   # candidates; the best on validation wins",
        "  gates:",
        "    beat_baseline_by: 0.0   # raise it to demand a clear margin over doing nothing",
        "",
        "serving:",
        "  fallback:        # what callers get when the model fails or is too slow",
        "    strategy: error   # error: a 503. The launch gate asks for an answer instead: "
        "constant (with value: the answer), rule, or previous (the last production version)",
        "    timeout_ms: 500",
        "",
        "monitoring:",
        "  window: 1d   # one row of numbers per day of predictions",
        "  alerts:      # starting rules: tune the lines to what matters for this model",
        "    - name: feature drift",
        '      metric: "drift:*"   # one alert per feature whose distribution moved',
        '      comparison: ">="',
        "      threshold: 1",
        "      window: 1d",
        "    - name: missing values jump",
        '      metric: "missing_increase:*"   # missing share above training by this much',
        '      comparison: ">"',
        "      threshold: 0.1",
        "      window: 1d",
        "    - name: categories never seen in training",
        '      metric: "unseen_rate:*"',
        '      comparison: ">"',
        "      threshold: 0.02",
        "      window: 1d",
        "    - name: performance drop",
        *(
            [
                "      metric: performance_drop   # training minus live success metric, once "
                "labels arrive",
                '      comparison: ">"',
                "      threshold: 0.05",
            ]
            if guess.task == "classification"
            else [
                "      metric: performance_drop_share   # how much worse than in training, as a "
                "share of it (0.1: 10 %), once labels arrive",
                '      comparison: ">"',
                "      threshold: 0.1",
            ]
        ),
        "      window: 1d",
        "      severity: critical",
        "    - name: failing requests",
        "      metric: error_rate   # rows refused or not answered",
        '      comparison: ">"',
        "      threshold: 0.05",
        "      window: 1d",
        "      severity: critical",
        "  channels:",
        "    - kind: log   # add a webhook (url) or email (to, smtp_host) channel here",
    ]
    if guess.warnings:
        lines.append("")
        lines.append("# Things to review:")
        lines.extend(f"#  - {w}" for w in guess.warnings)
    return "\n".join(lines) + "\n"
