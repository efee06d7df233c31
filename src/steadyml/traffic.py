"""The traffic policy: production only, a canary share for a challenger, or a shadow.

The policy lives in the metadata store; running servers poll it, so a change reaches every
worker within seconds without a restart. Every change is also a deployment event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from steadyml.entities import TrafficPolicy
from steadyml.errors import SteadyMLError

if TYPE_CHECKING:
    from steadyml.store import Store

MODES = ("production", "canary", "shadow")

__all__ = ["MODES", "set_traffic"]


def set_traffic(
    store: Store,
    mode: str,
    *,
    challenger: int | None = None,
    percent: float | None = None,
    sticky_by: str | None = None,
    by: str,
    reason: str,
) -> TrafficPolicy:
    if mode not in MODES:
        raise SteadyMLError(f"Traffic mode must be one of {', '.join(MODES)}; got {mode!r}.")
    if not reason or not reason.strip():
        raise SteadyMLError("A traffic change needs a reason: --reason 'why'.")
    production = store.production_version()
    if production is None:
        raise SteadyMLError(
            "No version is in production, so there is no traffic to route.",
            hint="Promote one first: `steadyml models promote V --to production --reason …`.",
        )
    if mode == "production":
        policy = TrafficPolicy(mode="production", updated_by=by, reason=reason.strip())
        to_version = production.version
    else:
        if challenger is None:
            raise SteadyMLError(f"Mode {mode} needs a challenger: --challenger V.")
        mv = store.get_model_version(challenger)
        if mv.version == production.version:
            raise SteadyMLError(
                f"Version {mv.version} is already in production; a challenger must be another "
                "version."
            )
        if mode == "canary" and (percent is None or not 0 < percent <= 50):
            raise SteadyMLError(
                f"--percent must be above 0 and at most 50 for a canary; got {percent}.",
                hint="A canary is a small share; to switch fully, promote the version.",
            )
        share = float(percent or 0) if mode == "canary" else 0.0
        policy = TrafficPolicy(
            mode=mode,  # type: ignore[arg-type]
            challenger_version=mv.version,
            percent=share,
            sticky_by=sticky_by,
            updated_by=by,
            reason=reason.strip(),
        )
        to_version = mv.version
    saved = store.set_traffic(policy)
    store.record_event(
        action=f"traffic:{mode}",
        stage=mode,
        from_version=production.version,
        to_version=to_version,
        by=by,
        reason=reason.strip(),
    )
    return saved
