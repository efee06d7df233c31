"""The launch checklist (``steadyml checklist``): evidence, the score, and the gate.

Scored as "The ML Test Score" (Breck, Cai, Nielsen, Salib, Sculley; IEEE BigData 2017)
does: 28 tests in four sections of seven (data, model, infrastructure, monitoring); a test
earns 1 point when steadyml's own records show it done by the tool (automated and
repeated), ½ when a person attests it was done by hand (``attest``: who, when, a note; it
expires after ``launch.attestation_expires``); each section's points are summed and the
final score is the lowest sum. The course's launch items (``checklist_items.COURSE``) are
listed beside the tests; ``launch.required`` names those that must pass before a version
reaches production (``launch_gate``, called by ``release.promote`` and a rollout's last
step). Everything is read as counts and single rows (``store/attestations.py``) plus the
latest few thousand logged answers, never the whole log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steadyml.config.times import parse_duration
from steadyml.entities import Attestation, ModelVersion
from steadyml.errors import SteadyMLError
from steadyml.flows.checklist_items import COURSE, GATED, NA, PASS, TESTS, Facts, Finding, Item

if TYPE_CHECKING:
    from steadyml.config import ProjectConfig
    from steadyml.store import Store

__all__ = [
    "BANDS",
    "Checklist",
    "ItemResult",
    "SECTIONS",
    "attest",
    "checklist",
    "gate_failures",
    "gate_override_note",
    "launch_gate",
]

SECTIONS = ("data", "model", "infrastructure", "monitoring")
SAMPLE = 2000  # the latest logged answers read for NaN and latency
BANDS = (
    (0.0, "More of a research project than a productionized system."),
    (1.0, "Not totally untested, but it is worth considering the possibility of serious "
          "holes in reliability."),
    (2.0, "There's been a first pass at basic productionization, but additional investment "
          "may be needed."),
    (3.0, "Reasonably tested, but it's possible that more of those tests and procedures may "
          "be automated."),
    (5.0, "Strong levels of automated testing and monitoring, appropriate for "
          "mission-critical systems."),
    (float("inf"), "Exceptional levels of automated testing and monitoring."),
)  # fmt: skip
"""The paper's bands: a final score up to each bound (0 exactly for the first)."""


@dataclass(frozen=True)
class ItemResult:
    id: str
    section: str
    title: str
    status: str  # pass | fail | not measured yet | does not apply
    how: str  # automated | attested | ""
    points: float
    evidence: str
    fix: str
    at: dt.datetime | None
    required: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "title": self.title,
                "status": self.status, "how": self.how, "points": self.points,
                "evidence": self.evidence, "fix": self.fix, "required": self.required,
                "at": None if self.at is None else self.at.isoformat()}  # fmt: skip


@dataclass(frozen=True)
class Checklist:
    tests: list[ItemResult]
    launch: list[ItemResult]
    sections: dict[str, float]
    score: float
    band: str
    production: int | None
    generated_at: dt.datetime
    attestations: list[Attestation] = field(default_factory=list)

    @property
    def automated(self) -> int:
        return sum(1 for t in self.tests if t.how == "automated")

    @property
    def blocking(self) -> list[ItemResult]:
        return [i for i in self.launch if i.required and i.status != PASS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score, "band": self.band, "sections": self.sections,
            "automated": self.automated, "production": self.production,
            "generated_at": self.generated_at.isoformat(),
            "tests": [t.to_dict() for t in self.tests],
            "launch": [i.to_dict() for i in self.launch],
            "blocking": [i.id for i in self.blocking],
            "attestations": [a.to_dict() for a in self.attestations],
        }  # fmt: skip


def band(score: float) -> str:
    if score <= 0:
        return BANDS[0][1]
    return next(text for bound, text in BANDS[1:] if score <= bound)


# --- gathering the evidence ---------------------------------------------------------------


def _environment(recorded: dict[str, str]) -> dict[str, str]:
    """This environment's versions of the packages a run recorded (read from the installed
    metadata, without importing them)."""
    import platform

    out = {}
    for name in recorded:
        if name == "python":
            out[name] = platform.python_version()
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def gather(config: ProjectConfig, root: Path, store: Store, *,
           now: dt.datetime | None = None) -> Facts:  # fmt: skip
    from steadyml.flows.data import contract_path
    from steadyml.store.attestations import attestations_of

    now = now or dt.datetime.now(dt.UTC)
    production = store.production_version()
    repo = attestations_of(store)
    latest = repo.latest_run_number() if production is None else production.run_number
    run = None if latest is None else store.get_run(latest)  # production's, else the latest
    source = None
    if production is not None:  # a retrain's version: its parent's file plus live rows that
        dv = store.get_dataset_version(production.dataset_version)  # passed the contract
        for _ in range(100):
            parent = (dv.lineage or {}).get("parent_version")
            if not parent:
                break
            dv = store.get_dataset_version(int(parent))
        source = dv.source
    since = now - parse_duration(config.launch.evidence_within)
    evidence = repo.launch_evidence(
        production=None if production is None else production.version,
        source=source, since=since,
    )  # fmt: skip
    sample = store.list_predictions(limit=SAMPLE)
    from steadyml.config import CONFIG_FILENAME

    file = root / CONFIG_FILENAME
    written = dt.datetime.fromtimestamp(file.stat().st_mtime, dt.UTC) if file.exists() else None
    return Facts(config=config, now=now, production=production, run=run, evidence=evidence,
                 contract_file=contract_path(config, root).exists(), sample=sample,
                 environment=_environment(run.package_versions if run else {}),
                 written_at=written)  # fmt: skip


def _valid(attestations: list[Attestation], now: dt.datetime) -> dict[str, Attestation]:
    out: dict[str, Attestation] = {}
    for a in attestations:  # newest first
        if a.expires_at > now and a.item not in out:
            out[a.item] = a
    return out


def _judge(item: Item, found: Finding, attested: Attestation | None,
           required: bool = False) -> ItemResult:  # fmt: skip
    how, points = "", 0.0
    status, evidence, at = found.status, found.evidence, found.at
    if status == PASS:
        how, points = "automated", 1.0
    elif attested is not None and status != NA:
        status, how, points = PASS, "attested", 0.5
        evidence = (f"Attested by {attested.by} on {attested.at:%Y-%m-%d} (until "
                    f"{attested.expires_at:%Y-%m-%d}): {attested.note} — the tool's own "
                    f"check says: {found.evidence}")  # fmt: skip
        at = attested.at
    fix = "" if how == "automated" else found.fix
    return ItemResult(item.id, item.section, item.title, status, how, points, evidence, fix,
                      at, required)  # fmt: skip


def checklist(config: ProjectConfig, root: Path, store: Store, *,
              now: dt.datetime | None = None) -> Checklist:  # fmt: skip
    """Every test and launch item with its evidence, the section sums and the score."""
    from steadyml.store.attestations import attestations_of

    facts = gather(config, root, store, now=now)
    attestations = attestations_of(store).list_attestations()
    valid = _valid(attestations, facts.now)
    tests = [_judge(i, i.check(facts), valid.get(i.id)) for i in TESTS]
    required = set(config.launch.required)
    launch = [
        _judge(i, i.check(facts), valid.get(i.id) if i.id == "privacy_fairness" else None,
               i.id in required)
        for i in COURSE
    ]  # fmt: skip
    sections = {s: sum(t.points for t in tests if t.section == s) for s in SECTIONS}
    score = min(sections.values())
    return Checklist(tests=tests, launch=launch, sections=sections, score=score,
                     band=band(score),
                     production=None if facts.production is None else facts.production.version,
                     generated_at=facts.now, attestations=attestations)  # fmt: skip


# --- attestations ---------------------------------------------------------------------------


def attest(config: ProjectConfig, store: Store, item: str, *, note: str, by: str,
           now: dt.datetime | None = None) -> Attestation:  # fmt: skip
    """Record that a person did ``item`` by hand; it scores ½ until it expires."""
    from steadyml.store.attestations import attestations_of

    known = [i.id for i in TESTS] + ["privacy_fairness"]
    if item not in known:
        import difflib

        close = difflib.get_close_matches(item, known, n=1)
        raise SteadyMLError(
            f"There is no checklist item {item!r} to attest."
            + (f" Did you mean {close[0]!r}?" if close else ""),
            hint=f"Items: {', '.join(known)} (`steadyml checklist` lists them).",
            field="item",
        )
    if not note or not note.strip():
        raise SteadyMLError("An attestation needs a note: what was done, where it is written "
                            "down.", hint="e.g. --note 'privacy review 2026-12-01, wiki/PR-12'",
                            field="note")  # fmt: skip
    now = now or dt.datetime.now(dt.UTC)
    expires = now + parse_duration(config.launch.attestation_expires)
    return attestations_of(store).add_attestation(item=item, note=note.strip(), by=by, at=now,
                                                  expires_at=expires)  # fmt: skip


# --- the gate ---------------------------------------------------------------------------------


def gate_failures(config: ProjectConfig, store: Any, version: ModelVersion, *,
                  now: dt.datetime | None = None) -> list[ItemResult]:  # fmt: skip
    """The required launch items (``launch.required``) that fail for ``version`` about to
    reach production. Reads the project file and a few store rows only: no log, no root
    (the contract is the one the version carries)."""
    from steadyml.store.attestations import attestations_of

    required = list(config.launch.required)
    if not required:
        return []
    now = now or dt.datetime.now(dt.UTC)
    production = store.production_version()
    evidence = {"production_versions_ever": attestations_of(store).production_versions_ever()}
    facts = Facts(config=config, now=now, production=production, run=None, evidence=evidence,
                  contract_file=bool(version.contract))  # fmt: skip
    out = []
    for item in COURSE:
        if item.id not in required:
            continue
        check = GATED.get(item.id)
        found = check(facts, version) if check else item.check(replace(facts, production=version))
        if found.status != PASS:
            out.append(_judge(item, found, None, True))
    return out


def gate_refusal(version: int, failing: list[ItemResult]) -> SteadyMLError:
    listed = "".join(f"\n  - {i.title}: {i.evidence} Fix: {i.fix}" for i in failing)
    return SteadyMLError(
        f"Version {version} cannot go to production while required launch items fail:{listed}",
        hint="Fix them (steadyml checklist shows the evidence), or, if you accept the risk, "
        "promote with --override --reason 'why' (override='why' in Python); the override and "
        "the items it passed are recorded with the deployment event and on the model card. "
        "launch.required in steadyml.yaml lists the items the gate checks.",
    )


def gate_override_note(override: str, failing: list[ItemResult]) -> str:
    """The override as recorded: the person's reason, then the items it passed."""
    return f"{override} [launch checklist overridden: {', '.join(i.id for i in failing)}]"


def launch_gate(config: ProjectConfig, store: Store, version: ModelVersion, *,
                override: str | None) -> str | None:  # fmt: skip
    """Refuse ``version`` for production while a required launch item fails, unless an
    override says why; return the override to record (with the items it passed)."""
    failing = gate_failures(config, store, version)
    if not failing:
        return override
    if override is None:
        raise gate_refusal(version.version, failing)
    return gate_override_note(override, failing)


def checklist_html(result: Checklist, *, project: str) -> str:
    """The checklist as one self-contained HTML page."""
    from steadyml.reports.checklist import render_checklist_html

    return render_checklist_html(result.to_dict(), project=project)
