"""Release: which model answers, and every change to it.

The use cases of the release control plane, one place each:

* ``promote`` / ``rollback``: move a version between stages (candidate → staging → production
  → archived), refusing one that failed its gates, or (to production) one whose retrain
  decision is REJECT or INCONCLUSIVE, unless an override says why (kept with the event and
  the decision); every change is a deployment event with who, when and why. A version
  registered before its family had a serving form gets one when it is promoted
  (``ensure_serving_form``).
* ``set_traffic``: production only, a canary share for a challenger, or a shadow. The policy
  lives in the metadata store; running servers poll it, so a change reaches every server
  within seconds without a restart.
* API keys with scopes, stored hashed (``create_key``, ``verify_key``). A key is shown once,
  when it is created (``sml_<prefix>_<secret>``); the store keeps only its sha256 and the
  short prefix, so a leaked database does not leak working keys. Scopes: ``predict``,
  ``feedback``, ``admin`` (everything).
* ``load_model`` / ``resolve_version``: the version a caller means (default: production),
  loaded only when its bytes match the recorded digest.

Each function takes the store (and the artifact store where bytes are read or written); none
knows about the CLI or the web layer, whose flags and fields name the same arguments.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from steadyml.entities import SCOPES, ApiKey, DeploymentEvent, ModelVersion, Run, TrafficPolicy
from steadyml.errors import AuthError, NotFoundError, SteadyMLError

if TYPE_CHECKING:
    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.registry import ModelBundle
    from steadyml.store import Store

PROMOTABLE = ("staging", "production")
MODES = ("production", "canary", "shadow")
HEADER = "X-API-Key"

__all__ = [
    "HEADER",
    "MODES",
    "PROMOTABLE",
    "create_key",
    "ensure_serving_form",
    "hash_key",
    "load_model",
    "promote",
    "resolve_version",
    "rollback",
    "save_serving_form",
    "set_traffic",
    "verify_key",
]


# --- stages -----------------------------------------------------------------------------


def _failed_gates(run: Run) -> list[str]:
    gates = run.summary.get("gates") or {}
    return [str(c.get("message")) for c in gates.get("checks", []) if not c.get("passed")]


def _reason(reason: str | None, what: str, example: str) -> str:
    if not reason or not reason.strip():
        raise SteadyMLError(f"{what} needs a reason: say why, e.g. '{example}'.", field="reason")
    return reason.strip()


def promote(
    store: Store,
    artifacts: ArtifactStore,
    version: int,
    to: str,
    *,
    reason: str,
    by: str,
    override: str | None = None,
    config: ProjectConfig | None = None,
) -> DeploymentEvent:
    """Promote a version to staging or production, refusing one that failed its gates.

    With ``config``, a promotion to production also passes the launch gate
    (``launch.required``, ``flows/checklist.launch_gate``): refused while a required item
    fails, unless ``override`` says why (recorded with the items it passed)."""
    if to not in PROMOTABLE:
        raise SteadyMLError(
            f"A version can be promoted to {' or '.join(PROMOTABLE)}; got {to!r}.",
            hint="Versions start as candidates; archive happens when another is promoted.",
            field="to",
        )
    why = _reason(reason, "A promotion", "beats v3 on recall, approved by the retention lead")
    if override is not None and not override.strip():
        raise SteadyMLError(
            "An override needs a reason: why promote despite failed gates?", field="override"
        )
    mv = store.get_model_version(version)
    run = store.get_run(mv.run_number)
    if not mv.gates_passed and override is None:
        failed = _failed_gates(run)
        listed = "".join(f"\n  - {m}" for m in failed) or "\n  - (see `steadyml runs show`)"
        raise SteadyMLError(
            f"Version {version} failed its gates, so it cannot be promoted:{listed}",
            hint="Train a better model, or, if you accept the risk, promote with an override "
            "that says why it is acceptable (--override --reason 'why' on the command line, "
            "override='why' in Python). The override is recorded.",
        )
    decision = (run.summary or {}).get("decision") or {}
    against = to == "production" and decision.get("outcome") in ("REJECT", "INCONCLUSIVE")
    if against and override is None:
        raise SteadyMLError(_decision_refusal(version, decision), hint=DECISION_HINT)
    if to == "production" and config is not None:
        from steadyml.flows.checklist import launch_gate

        override = launch_gate(config, store, mv, override=override)
    event = store.change_stage(version, to, by=by, reason=why, override=override)
    if against:  # the override is kept with the decision it overrode
        store.set_run_decision(run.number, {**decision, "override": {
            "by": event.by, "reason": override, "at": event.at.isoformat(), "stage": to,
            "event": event.id, "outcome": decision.get("outcome"),
        }})  # fmt: skip
    ensure_serving_form(store, artifacts, version)
    return event


DECISION_HINT = (
    "A retrain decision never promotes by itself, and a person may overrule it only on the "
    "record: if you accept the risk, promote with --override --reason 'why' (override='why' "
    "in Python); the override is kept with the decision and on the model card. Otherwise "
    "retrain when more labelled rows have arrived: steadyml retrain"
)


def _decision_refusal(version: int, decision: dict[str, Any]) -> str:
    """The refusal of a challenger whose retrain decision is not PROMOTE, quoting its checks."""
    unmet = [c for c in decision.get("checks", []) if c.get("verdict") in ("fail", "inconclusive")]
    listed = "".join(f"\n  - {c.get('sentence')}" for c in unmet)
    return (
        f"Version {version}'s retrain decision is {decision.get('outcome')}, so it is not "
        f"promoted to production:{listed}"
    )


def rollback(store: Store, *, reason: str, by: str) -> DeploymentEvent:
    """Put the previous production version back in production."""
    why = _reason(reason, "A rollback", "recall dropped after the release")
    return store.rollback(by=by, reason=why)


def ensure_serving_form(store: Store, artifacts: ArtifactStore, version: int) -> None:
    """A model registered before its family had a serving form gets one (when it is
    promoted), so servers start without scikit-learn (``registry.dump_serving_form``)."""
    from steadyml.registry import load_bundle

    mv = store.get_model_version(version)
    families = ("linear", "random_forest", "hist_gradient_boosting")  # training.estimators
    if mv.serving_digest or mv.model_type not in families:
        return
    digest = save_serving_form(store, artifacts, load_bundle(artifacts, mv))
    if digest is not None:
        store.set_serving_digest(version, digest)


def save_serving_form(store: Store, artifacts: ArtifactStore, bundle: ModelBundle) -> str | None:
    """Store a bundle's serving form (what a server loads) and return its digest; None for a
    model that has none. The one place a serving form is written: at registration
    (``flows.train``) and for a version registered before forms existed."""
    from steadyml.registry import dump_serving_form

    form = dump_serving_form(bundle)
    if form is None:
        return None
    digest = artifacts.put_bytes(form)
    store.add_artifact(digest=digest, size=len(form), kind="serving")
    return digest


def resolve_version(store: Store, version: int | None, *, project: str) -> ModelVersion:
    """The model version a caller means: ``version``, or the one in production."""
    if version is not None:
        return store.get_model_version(version)
    mv = store.production_version()
    if mv is None:
        raise NotFoundError(
            f"Project '{project}' has no model in production.",
            hint="Promote one: `steadyml models promote V --to production --reason …`.",
        )
    return mv


def load_model(
    store: Store, artifacts: ArtifactStore, version: int | None, *, project: str
) -> ModelBundle:
    """Load a model version (default: production); its digest is verified first."""
    from steadyml.registry import load_bundle

    return load_bundle(artifacts, resolve_version(store, version, project=project))


# --- traffic ----------------------------------------------------------------------------


def set_traffic(
    store: Store,
    mode: str,
    *,
    challenger: int | None = None,
    percent: float | None = None,
    sticky_by: str | None = None,
    columns: Sequence[str] | None = None,
    by: str,
    reason: str,
) -> TrafficPolicy:
    """Route traffic: production only, a canary share for ``challenger``, or a shadow.

    ``columns`` are the project's columns; ``sticky_by`` (a column whose value keeps a caller
    on one arm) must be one of them.
    """
    if mode not in MODES:
        raise SteadyMLError(
            f"Traffic mode must be one of {', '.join(MODES)}; got {mode!r}.", field="mode"
        )
    why = _reason(reason, "A traffic change", "canary v4 on 10% before promoting it")
    if sticky_by is not None and columns is not None and sticky_by not in columns:
        raise SteadyMLError(
            f"The sticky column {sticky_by!r} is not a column of this project.",
            hint="Use the id column, e.g. customer_id.",
            field="sticky_by",
        )
    production = store.production_version()
    if production is None:
        raise SteadyMLError(
            "No version is in production, so there is no traffic to route.",
            hint="Promote one first: `steadyml models promote V --to production --reason …`.",
        )
    if mode == "production":
        policy = TrafficPolicy(mode="production", updated_by=by, reason=why)
        to_version = production.version
    else:
        if challenger is None:
            raise SteadyMLError(
                f"Traffic mode {mode} needs a challenger version.", field="challenger"
            )
        mv = store.get_model_version(challenger)
        if mv.version == production.version:
            raise SteadyMLError(
                f"Version {mv.version} is already in production; a challenger must be another "
                "version.",
                field="challenger",
            )
        if mode == "canary" and (percent is None or not 0 < percent <= 50):
            raise SteadyMLError(
                f"A canary's share must be above 0 and at most 50 percent; got {percent}.",
                hint="A canary is a small share; to switch fully, promote the version.",
                field="percent",
            )
        share = float(percent or 0) if mode == "canary" else 0.0
        policy = TrafficPolicy(
            mode=mode,  # type: ignore[arg-type]
            challenger_version=mv.version,
            percent=share,
            sticky_by=sticky_by,
            updated_by=by,
            reason=why,
        )
        to_version = mv.version
    saved = store.set_traffic(policy)
    store.record_event(
        action=f"traffic:{mode}",
        stage=mode,
        from_version=production.version,
        to_version=to_version,
        by=by,
        reason=why,
    )
    return saved


# --- API keys ---------------------------------------------------------------------------


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(store: Store, *, name: str, scopes: Sequence[str], by: str) -> tuple[str, ApiKey]:
    """Create a key; returns (the key itself, shown once; its stored record)."""
    name = name.strip()
    if not name:
        raise SteadyMLError(
            "A key needs a name that says who uses it, e.g. 'crm-batch'.", field="name"
        )
    wanted = [s.strip() for s in scopes if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise SteadyMLError(
            f"A key's scopes must be some of {', '.join(SCOPES)}; got "
            f"{', '.join(scopes) or 'nothing'}.",
            field="scopes",
        )
    prefix = secrets.token_hex(4)
    token = f"sml_{prefix}_{secrets.token_urlsafe(24)}"
    record = store.add_api_key(
        name=name,
        prefix=prefix,
        key_hash=hash_key(token),
        scopes=sorted(set(wanted)),
        created_by=by,
    )
    return token, record


def verify_key(store: Store, token: str | None, scope: str) -> ApiKey:
    """The key's record when it is valid and allows ``scope``; AuthError (401/403) otherwise."""
    if not token:
        raise AuthError(
            f"This endpoint needs an API key in the {HEADER} header.",
            hint="Create one with `steadyml keys create --name NAME --scopes predict`.",
        )
    record = store.find_api_key(hash_key(token))
    if record is None:
        raise AuthError(f"The API key in {HEADER} is not valid.")
    if not record.active:
        raise AuthError(f"The API key '{record.name}' ({record.prefix}) was revoked.")
    if scope not in record.scopes and "admin" not in record.scopes:
        raise AuthError(
            f"The API key '{record.name}' may not {scope}: its scopes are "
            f"{', '.join(record.scopes)}.",
            status=403,
        )
    return record
