"""What a running server knows: the loaded models, the traffic policy, and how they change.

A watcher polls the metadata store (every ``poll_seconds``). When the production version or
the traffic policy changes — a promotion, a rollback, ``steadyml traffic set`` — it loads the
new model in a worker thread (digest verified) and swaps it in with one assignment, so
requests in flight finish on the old model and new ones use the new model: no restart, no
failed request.

A linear model is loaded as its serving form (``forms.serving.ServingForm``, saved when the
version was registered, digest verified): scikit-learn is then never imported, which is most
of a cold start. Any other model, or a form that cannot be read, loads the pickled pipeline.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from steadyml.entities import TrafficPolicy
from steadyml.errors import SteadyMLError
from steadyml.forms.serving import ServingForm
from steadyml.registry import load_bundle, load_serving_form
from steadyml.registry.scoring import ScoreOutput, score_frame
from steadyml.serving.rows import RecordRows

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.project import Project
    from steadyml.registry import ModelBundle

logger = logging.getLogger("steadyml.serving")


@dataclass(frozen=True)
class LoadedModel:
    """A model version a server answers with. It is the batcher's score function: called
    with a frame, or, through ``score_rows``, with a batch's rows as they are, which a
    serving form reads as columns of values (no DataFrame built; the same answers)."""

    version: int
    bundle: ModelBundle | ServingForm

    def score(self, frame: pd.DataFrame) -> ScoreOutput:
        return score_frame(self.bundle, frame)

    def __call__(self, frame: pd.DataFrame) -> ScoreOutput:
        return self.score(frame)

    def score_rows(self, rows: RecordRows) -> ScoreOutput:
        if isinstance(self.bundle, ServingForm):  # reads column -> values (forms.columns.Rows)
            return score_frame(self.bundle, cast("pd.DataFrame", rows.columns_of_values()))
        return score_frame(self.bundle, rows.frame())


@dataclass(frozen=True)
class ModelState:
    """An immutable snapshot: the server swaps the whole state at once."""

    production: LoadedModel | None
    previous: LoadedModel | None
    challenger: LoadedModel | None
    policy: TrafficPolicy
    notes: tuple[str, ...] = ()

    @property
    def mode(self) -> str:
        if self.challenger is None or self.production is None:
            return "production"
        if self.challenger.version == self.production.version:
            return "production"
        return self.policy.mode


@dataclass
class Runtime:
    project: Project
    state: ModelState = field(default_factory=lambda: ModelState(None, None, None, TrafficPolicy()))
    _cache: dict[int, LoadedModel] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    last_error: str | None = None

    def _load(self, version: int) -> LoadedModel:
        cached = self._cache.get(version)
        if cached is not None:
            return cached
        bundle: ModelBundle | ServingForm | None = None
        mv = self.project.model_version(version)
        if mv.serving_digest:
            try:
                bundle = load_serving_form(self.project.artifacts, mv)
            except SteadyMLError as exc:  # an unreadable form: the pipeline still answers
                logger.warning("model version %s: %s Loading the pipeline.", version, exc)
        if bundle is None:
            bundle = load_bundle(self.project.artifacts, mv)  # the version read above
            bundle.scorer()  # compile (and self-check) now, not on the first request
        model = LoadedModel(version=version, bundle=bundle)
        self._cache[version] = model
        return model

    def refresh(self) -> bool:
        """Read the store; load and swap in what changed. Returns True when state changed."""
        with self._lock:
            store = self.project.store
            prod = store.production_version()
            policy = store.get_traffic()
            current = self.state
            prod_v = None if prod is None else prod.version
            chal_v = policy.challenger_version if policy.mode != "production" else None
            same = (
                (current.production.version if current.production else None) == prod_v
                and (current.challenger.version if current.challenger else None) == chal_v
                and current.policy == policy
            )
            if same:
                return False
            production = None if prod_v is None else self._load(prod_v)
            previous = current.production
            if previous is not None and production is not None:
                if previous.version == production.version:
                    previous = current.previous
            elif previous is None and prod_v is not None and self._wants_previous():
                previous = self._previous_of(prod_v)
            challenger = None if chal_v is None else self._load(chal_v)
            keep = {m.version for m in (production, previous, challenger) if m is not None}
            self._cache = {v: m for v, m in self._cache.items() if v in keep}
            self.state = ModelState(production, previous, challenger, policy)
            return True

    def _wants_previous(self) -> bool:
        """Only the 'previous' fallback needs the version production had before, loaded at
        start; after a promotion the server keeps the one it was serving anyway."""
        return bool(self.project.config.serving.fallback.strategy == "previous")

    def _previous_of(self, version: int) -> LoadedModel | None:
        """The version production had before ``version`` (for the 'previous' fallback)."""
        events = [
            e
            for e in self.project.store.list_events()
            if e.stage == "production" and e.to_version == version and e.from_version
        ]
        if not events or events[-1].from_version is None:
            return None
        try:
            return self._load(events[-1].from_version)
        except Exception:  # the fallback model is optional; serving goes on without it
            return None


def route_for(policy: TrafficPolicy, sticky_value: Any, rng: random.Random) -> str:
    """'canary' for a share of records (sticky by a hash of the id when given), else 'live'."""
    if policy.mode != "canary" or policy.percent <= 0:
        return "live"
    if sticky_value is not None and str(sticky_value) != "":
        digest = hashlib.sha256(str(sticky_value).encode()).digest()
        bucket = int.from_bytes(digest[:8], "big") / 2**64 * 100
    else:
        bucket = rng.random() * 100
    return "canary" if bucket < policy.percent else "live"
