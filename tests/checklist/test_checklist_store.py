"""The attestations table (migration 0010) and the checklist's aggregates, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import datetime as dt

from steadyml.store import open_store
from steadyml.store.attestations import attestations_of


def test_attestations_and_evidence_on_both_databases(store_url: str) -> None:
    store = open_store(store_url, project="churn")
    other = open_store(store_url, project="other")
    try:
        repo = attestations_of(store)
        assert attestations_of(store) is repo
        now = dt.datetime.now(dt.UTC)
        empty = repo.launch_evidence(production=None, source=None, since=now)
        assert (empty["runs"], empty["predictions"], empty["labels"]) == (0, 0, 0)
        assert empty["jobs"] == {} and empty["open_alerts"] == []
        first = repo.add_attestation(item="data-3", note="reviewed", by="ann", at=now,
                                     expires_at=now + dt.timedelta(days=1))  # fmt: skip
        repo.add_attestation(item="data-3", note="again", by="bo",
                             at=now + dt.timedelta(seconds=1),
                             expires_at=now + dt.timedelta(days=2))  # fmt: skip
        listed = repo.list_attestations(item="data-3")
        assert [a.by for a in listed] == ["bo", "ann"]  # newest first
        assert listed[1] == first and first.at.tzinfo is not None
        assert attestations_of(other).list_attestations() == []  # one project's records
        job = store.start_job("reproduce")
        store.finish_job(job, ok=True, summary={"run": 1, "max_difference": 0.0})
        seen = repo.launch_evidence(production=None, source=None, since=now)
        assert seen["jobs"]["reproduce"]["ok"] is True
        assert seen["jobs"]["reproduce"]["recent_ok"] == 1
        assert repo.production_versions_ever() == 0 and repo.latest_run_number() is None
    finally:
        store.close()
        other.close()
