"""The prediction service: route → validate → batch → fallback → log, without HTTP.

``PredictionService`` holds what one server process needs to answer: the loaded models and
the traffic policy (``Runtime``), the micro-batcher, the prediction log writer, the API-key
cache, the fallback, the metrics and the settings. ``app.py`` builds it and starts and stops
it in the app's lifespan; each route (``routes/``) reads a request, calls one method here and
shapes the answer. A request for predictions travels::

    predict(records)                       # records already validated against the contract
      -> rows, one route per record         # live, or canary for a share (sticky by a column)
      -> the warnings of each record         # outside what training showed: answered, flagged
      -> batcher.submit per model           # one model call for many concurrent requests
      -> the fallback on timeout or error   # flagged in the answer, the log and the metrics
      -> the log writer                     # columns handed over, written off the event loop
      -> shadow scoring in the background   # the challenger's answers logged, never returned

Labels and the model card go through the project's use cases (``Project.record_labels``,
``Project.model_card``), as the CLI's do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import operator
import random
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fastapi.concurrency import run_in_threadpool
from prometheus_client import Gauge
from pydantic import BaseModel, TypeAdapter

from steadyml.entities import new_request_id
from steadyml.errors import SteadyMLError
from steadyml.predlog import LogLayout, LogPiece, PredictionLogWriter, store_chunk
from steadyml.predlog.keys import pii_key as read_pii_key
from steadyml.predlog.writer import unwritten_in
from steadyml.serving.auth import KeyCache
from steadyml.serving.batcher import BatchError, BatchTimeout, MicroBatcher
from steadyml.serving.expectations import ExpectationCheck
from steadyml.serving.fallback import fallback_reason, make_fallback
from steadyml.serving.metrics import make_metrics
from steadyml.serving.refused import RefusedLog, refused_records
from steadyml.serving.requests import build_record_model, build_request_model, extra_columns
from steadyml.serving.responses import FeedbackResponse, PredictAnswer, ResultDict, Route
from steadyml.serving.rows import RecordRows
from steadyml.serving.runtime import LoadedModel, ModelState, Runtime, route_for
from steadyml.serving.settings import ServeSettings
from steadyml.store.outage import store_unreachable

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.project import Project
    from steadyml.registry.scoring import ScoreOutput

__all__ = ["WARNINGS", "PredictionService", "ServiceUnavailable", "settle_garbage_collector"]

#: the prediction log's column of the warnings of an answered record (the name of batch
#: output's column of them)
WARNINGS = "_warnings"

logger = logging.getLogger("steadyml.serving")


class ServiceUnavailable(SteadyMLError):
    """The service cannot answer now: no model in production, or it failed with no fallback."""

    status = 503


class PredictionService:
    """Answers prediction requests for one project; see the module help for the path."""

    def __init__(self, project: Project, settings: ServeSettings | None = None) -> None:
        self.project = project
        self.settings = settings = settings or ServeSettings()
        self._buffer_bound = max(settings.log_buffer_rows, 1)
        cfg = project.config
        contract = project.contract()
        if contract is None:
            raise SteadyMLError(
                "The project has no data contract yet, so requests cannot be validated.",
                hint="Run `steadyml data check` (it writes contract.yaml), then train and promote.",
            )
        self.contract = contract
        roles = cfg.data.roles()
        serving = cfg.serving
        self.unknown_columns = serving.unknown_columns
        record_model = build_record_model(
            contract, target=roles.target, features=list(roles.features),
            unknown_columns=serving.unknown_columns, on_unexpected=serving.on_unexpected,
        )  # fmt: skip
        #: the body of POST /v1/predict, generated from the contract
        self.request_model = build_request_model(record_model, max_records=serving.max_records)
        #: its plain twin (the same records and values; pydantic's own errors), which the
        #: route tries first (``requests.build_record_model``'s ``explained``)
        self.plain_request = TypeAdapter(
            build_request_model(
                build_record_model(
                    contract, target=roles.target, features=list(roles.features),
                    unknown_columns=serving.unknown_columns,
                    on_unexpected=serving.on_unexpected, explained=False,
                ),
                max_records=serving.max_records, explained=False,
            )
        )  # fmt: skip
        self.columns = columns = [c for c in contract.columns if c != roles.target]
        #: the record model's attribute of each column, to read a record's values in order
        #: (what ``model_dump(by_alias=True)`` would give, without building a dict per record)
        by_alias = {f.alias or name: name for name, f in record_model.model_fields.items()}
        self._attributes = [by_alias[c] for c in columns]
        self._row_of = operator.attrgetter(*self._attributes) if self._attributes else None
        #: the expectations (training range, categories seen, never missing) answered records
        #: are checked against; with on_unexpected: refuse the request model refuses them
        self.expectations: ExpectationCheck | None = None
        if serving.on_unexpected == "answer":
            self.expectations = ExpectationCheck(
                contract, columns=columns, features=list(roles.features),
                missing_codes=cfg.data.missing_codes,
            )  # fmt: skip
        #: the log keeps each answered record's warnings in one more column, ``_warnings``
        #: (joined by "; ", null when none), as batch output does
        self._log_warnings = (
            self.expectations is not None and self.expectations.active and WARNINGS not in columns
        )
        self.runtime = Runtime(project)
        self.metrics = make_metrics()
        self._latency = self.metrics.latency.labels("predict")
        self._answered: dict[tuple[str, int], Any] = {}  # (route, version) -> its counter
        self.batcher = MicroBatcher(
            max_wait_ms=settings.max_wait_ms,
            max_batch_rows=settings.max_batch_rows,
            timeout_ms=serving.fallback.timeout_ms,
            inline_ms=settings.inline_ms,
            inline_rows=settings.inline_rows,
        )
        store = project.store
        self.keys = KeyCache(store, grace=settings.key_grace_seconds)
        # the hashing key comes from the environment or the project's key file, never the store
        pii_key = read_pii_key(project.root, store) if serving.pii_handling == "hash" else ""
        self.refused_log = RefusedLog(
            max_records=serving.max_records, pii=list(roles.pii), pii_mode=serving.pii_handling,
            pii_key=pii_key, id_column=roles.id, columns=columns,
        )  # fmt: skip
        self.writer = PredictionLogWriter(
            store.add_predictions,
            write_chunk=lambda chunk: store_chunk(store, chunk),
            layout=LogLayout(
                columns + ([WARNINGS] if self._log_warnings else []),
                types={**{c: contract.columns[c].type for c in columns}, WARNINGS: "string"},
                pii=list(roles.pii), pii_mode=serving.pii_handling, pii_key=pii_key,
                id_column=roles.id,
            ),
            flush_ms=settings.log_flush_ms,
            chunk_after_ms=settings.log_chunk_ms,
            chunk_min_rows=settings.log_chunk_min_rows,
            on_error=self._log_failure, unwritten=unwritten_in(store),
        )  # fmt: skip
        self.fallback = make_fallback(
            serving.fallback.strategy, value=serving.fallback.value, rule=serving.fallback.rule,
            previous=self._previous_score,
            task="classification" if contract.columns.get(roles.target) is None
            or contract.columns[roles.target].allowed is not None else "regression",
        )  # fmt: skip
        self._rng = random.Random()
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self._candidate_failed: set[int] = set()  # candidate versions whose failure was logged
        self._watcher: asyncio.Task[None] | None = None
        self._last_failure_report = 0.0
        #: when the watcher last found the store unreachable (Unix seconds), None while it reads
        self.store_unreachable_since: float | None = None
        registry = self.metrics.registry
        self._log_buffered = Gauge(
            "steadyml_prediction_log_buffered", "Predictions held in memory because the "
            "metadata store cannot be reached (written when it is back).", registry=registry,
        )  # fmt: skip
        self._log_escaped = Gauge(
            "steadyml_prediction_log_escaped", "Predictions logged with their text escaped "
            "because the store refused a value as it was, since the server started.",
            registry=registry,
        )  # fmt: skip
        self._store_down = Gauge(
            "steadyml_store_unreachable_seconds", "How long the metadata store has been "
            "unreachable (0 while it answers).", registry=registry,
        )  # fmt: skip

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the log writer and the batcher, load the models, watch the store."""
        self.writer.start()
        await self.batcher.start()
        try:
            await run_in_threadpool(self.runtime.refresh)
        except Exception as exc:
            self.runtime.last_error = f"{type(exc).__name__}: {exc}"
        self._show_versions()
        settle_garbage_collector(collect=False)
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        """Answer every request already taken, finish shadow scoring, write the whole log."""
        if self._watcher is not None:
            self._watcher.cancel()
        await self.batcher.stop(drain=True)
        if self._shadow_tasks:
            await asyncio.gather(*self._shadow_tasks, return_exceptions=True)
        await run_in_threadpool(self.writer.close)

    async def _watch(self) -> None:
        """Swap in what changed in the store (promotion, rollback, traffic) every poll, and
        evaluate the rollout under way at its interval (in a thread, never two at once)."""
        every = self.project.config.retraining.rollout_plan.evaluate_every_seconds
        evaluating: asyncio.Future[None] | None = None
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.poll_seconds)
            if (evaluating is None or evaluating.done()) and time.monotonic() - last >= every:
                last = time.monotonic()
                evaluating = asyncio.ensure_future(run_in_threadpool(self._evaluate_rollout))
            try:
                if await run_in_threadpool(self.runtime.refresh):
                    self._show_versions()
                    settle_garbage_collector()  # the old model can go, the new one settles
                self.runtime.last_error = None
                self.store_unreachable_since = None
            except Exception as exc:  # keep serving the models already loaded
                self.runtime.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
                if store_unreachable(exc) and self.store_unreachable_since is None:
                    self.store_unreachable_since = time.time()
            self.update_log_gauges()

    def _evaluate_rollout(self) -> None:
        """``flows.rollout.evaluate_rollout``: every server evaluates; the store's
        compare-and-set applies each step once. A failure never stops serving.

        A packaged service whose model has a serving form runs without scipy (a smaller
        image); it cannot evaluate guardrails, so it says so once and only follows the
        rollout's state, which another server, the worker or `rollout status` evaluates."""
        if getattr(self, "_cannot_evaluate", False):
            return
        try:
            self.project.evaluate_rollout()
        except ImportError as exc:
            self._cannot_evaluate = True
            logger.warning("This server cannot evaluate rollouts (%s is not installed): it "
                           "follows the rollout's state; a server with the full install, "
                           "`steadyml worker` or `steadyml rollout status` evaluates it.",
                           exc.name or exc)  # fmt: skip
        except Exception as exc:
            logger.warning("The rollout could not be evaluated (%s: %s); next try in one "
                           "interval.", type(exc).__name__, str(exc)[:300])  # fmt: skip

    def _show_versions(self) -> None:
        st = self.runtime.state
        gauge = self.metrics.model_version
        gauge.labels("production").set(st.production.version if st.production else 0)
        gauge.labels("challenger").set(st.challenger.version if st.challenger else 0)

    def update_log_gauges(self) -> None:
        writer = self.writer
        self.metrics.log_pending.set(writer.pending())
        self.metrics.log_failed.set(writer.failed)
        self._log_buffered.set(writer.buffered_rows())
        self._log_escaped.set(writer.escaped)
        since = self.unreachable_since()
        self._store_down.set(0 if since is None else max(time.time() - since, 0.0))

    def unreachable_since(self) -> float | None:
        """When the store stopped answering (Unix seconds; the log writer's or the watcher's
        first failure), None while it answers."""
        times = [t for t in (self.writer.unreachable_since, self.store_unreachable_since) if t]
        return min(times) if times else None

    def _log_failure(self, exc: BaseException) -> None:
        """Say so when the log cannot be written: answers go on, but nothing may be lost
        without a word (at most one message every 10 s; the metric counts every row)."""
        self.metrics.log_failed.set(self.writer.failed)
        now = time.monotonic()
        if now - self._last_failure_report < 10:
            return
        self._last_failure_report = now
        logger.error(
            "The prediction log could not be written (%s: %s); %d prediction(s) lost so far. "
            "Answers go on. Check the metadata store: free disk space, or that PostgreSQL is "
            "reachable (steadyml_prediction_log_failed counts them).",
            type(exc).__name__, str(exc)[:300], self.writer.failed,
        )  # fmt: skip

    def _previous_score(self, frame: pd.DataFrame) -> ScoreOutput:
        prev = self.runtime.state.previous
        if prev is None:
            raise RuntimeError("no previous production version is loaded")
        return prev.score(frame)

    # --- predicting --------------------------------------------------------------------------

    async def predict(self, records: Sequence[BaseModel], request_id: str) -> PredictAnswer:
        """The answers for validated records, one per record in order; logged. The answer is
        ``PredictResponse`` as a dict (``responses.encode_predict`` writes its JSON)."""
        started = time.perf_counter()
        state = self.runtime.state
        writer = self.writer
        if writer.unreachable_since is not None and writer.pending() >= self._buffer_bound:
            raise self._log_full()
        if state.production is None:
            raise ServiceUnavailable(
                "No model is in production yet. Promote one: `steadyml models promote V --to "
                "production --reason …`."
            )
        columns = self.columns
        # The validated records as plain rows: the batcher builds one DataFrame per batch,
        # not one per request.
        row_of = self._row_of
        if row_of is None:
            values: list[list[Any]] = [[] for _ in records]
        elif len(columns) == 1:
            values = [[row_of(r)] for r in records]
        else:
            values = [list(row_of(r)) for r in records]
        frame = RecordRows(columns, values)
        if self.unknown_columns == "ignore":
            unknown = sorted({col for rec in records for col in extra_columns(rec)})
            if unknown:
                logger.warning(
                    "request %s: ignored unknown column(s) %s (serving.unknown_columns: ignore)",
                    request_id, ", ".join(unknown),
                )  # fmt: skip
        ids = [new_request_id() for _ in range(len(frame))]
        check = self.expectations
        warned = check.warnings(values) if check is not None else None
        mode = state.mode
        sticky = state.policy.sticky_by
        if mode == "canary" and state.challenger is not None:
            rng = self._rng
            routes = [
                route_for(state.policy, self._sticky_value(sticky, rec, row), rng)
                for rec, row in zip(records, values, strict=True)
            ]
        else:
            routes = None  # every record live
        if routes is None:
            final = await self._answer(state.production, frame, "live", ids, started, warned)
        else:
            final = await self._answer_routed(state, frame, routes, ids, started, warned)
        latency_ms = (time.perf_counter() - started) * 1000
        if writer.pending() > self.settings.log_backlog_rows and writer.unreachable_since is None:
            await self._log_backpressure()  # (in an outage waiting helps nobody: the bound does)
        for res in final:
            self._count_answer(res["route"], res["model_version"])
        if mode == "shadow" and state.challenger is not None:
            task = asyncio.create_task(self._shadow(state.challenger, frame, list(ids), warned))
            self._shadow_tasks.add(task)
            task.add_done_callback(self._shadow_tasks.discard)
        self._latency.observe(latency_ms / 1000)
        # plain dicts: the route writes them with pydantic-core in one step (encode_predict)
        return {
            "ok": True,
            "request_id": request_id,
            "model_version": state.production.version,
            "results": final,
        }

    async def _answer_routed(
        self, state: ModelState, frame: RecordRows, routes: list[str], ids: list[str],
        started: float, warned: list[list[str]] | None,
    ) -> list[ResultDict]:  # fmt: skip
        """The answers of records routed live or canary, each part by its model, in order.

        Each part's logged latency leaves out the time the parts before it took: the canary
        is scored after production, and counting production's time as the candidate's made
        a copy of production fail the rollout's latency guardrail (10.1 ms against 3.5 ms)."""
        results: list[ResultDict | None] = [None] * len(frame)
        pairs: tuple[tuple[Route, LoadedModel | None], ...] = (
            ("live", state.production),
            ("canary", state.challenger),
        )
        waited = 0.0
        for route, model in pairs:
            idx = [i for i, r in enumerate(routes) if r == route]
            if not idx or model is None:
                continue
            part = frame if len(idx) == len(frame) else frame.take(idx)
            part_warned = None if warned is None else [warned[i] for i in idx]
            begun = time.perf_counter()
            answered = await self._answer(
                model, part, route, [ids[i] for i in idx], started + waited, part_warned
            )
            waited += time.perf_counter() - begun
            for i, res in zip(idx, answered, strict=True):
                results[i] = res
        return [r for r in results if r is not None]

    def _sticky_value(self, sticky: str | None, record: BaseModel, row: list[Any]) -> Any:
        """The value of the sticky column in this record (``None`` without one)."""
        if not sticky:
            return None
        if sticky in self.columns:
            return row[self.columns.index(sticky)]
        return record.model_dump(by_alias=True).get(sticky)  # e.g. an ignored unknown column

    def _count_answer(self, route: str, version: int, n: int = 1) -> None:
        """Count answered records by route and version (each counter looked up once)."""
        counter = self._answered.get((route, version))
        if counter is None:
            counter = self.metrics.predictions.labels(route, str(version))
            self._answered[(route, version)] = counter
        counter.inc(n)

    async def _answer(
        self, model: LoadedModel, frame: RecordRows, route: Route, ids: list[str],
        started: float, warned: list[list[str]] | None = None,
    ) -> list[ResultDict]:  # fmt: skip
        """The model's answers for these records (the fallback's when it fails), logged;
        ``warned``: each record's warnings (``None``: no record has any)."""
        try:
            out = await self.batcher.submit(model.version, model, frame)
        except (BatchTimeout, BatchError) as exc:
            return await self._fall_back(exc, model, frame, route, ids, started, warned)
        self.metrics.batch_rows.observe(len(frame))
        self._log(frame, ids, out.predictions, out.scores, model.version, route, started,
                  warned=warned)  # fmt: skip
        none: list[str] = []
        version = model.version
        probabilities = out.probabilities
        return [
            {
                "request_id": ids[i],
                "prediction": out.predictions[i],
                "score": out.scores[i],
                "probabilities": None if probabilities is None else probabilities[i],
                "model_version": version,
                "route": route,
                "fallback": False,
                "fallback_reason": None,
                "warnings": none if warned is None else warned[i],
            }
            for i in range(len(frame))
        ]

    async def _fall_back(
        self, exc: BatchError, model: LoadedModel, frame: RecordRows, route: Route,
        ids: list[str], started: float, warned: list[list[str]] | None = None,
    ) -> list[ResultDict]:  # fmt: skip
        """The fallback's answers when the model timed out or failed, flagged and logged.

        A candidate (canary or shadow) that fails never fails a caller: its failure is logged
        under its version and route, flagged, for the rollout's guardrails to count, and
        production answers the canary's records (the shadow's were answered already)."""
        reason = fallback_reason(exc)
        production = self.runtime.state.production
        if route in ("canary", "shadow") and production is not None and production is not model:
            n = len(frame)
            self._log(frame, ids, [None] * n, [None] * n, model.version, route, started,
                      reasons=[f"candidate failed: {reason}"] * n, warned=warned)  # fmt: skip
            self.metrics.fallbacks.labels("candidate").inc(n)
            if model.version not in self._candidate_failed:  # once per version: the
                self._candidate_failed.add(model.version)  # metric counts the rest
                logger.warning("candidate version %s failed (%s); production answers its "
                               "records, the rollout's guardrails see each failure",
                               model.version, reason)  # fmt: skip
            if route == "shadow":
                return []
            return await self._answer(production, frame, "live", ids, started, warned)
        answers = await run_in_threadpool(self.fallback.answer, frame.frame(), reason)
        if answers is None:
            raise ServiceUnavailable(
                f"The model could not answer ({reason}) and no fallback is configured."
            ) from exc
        kind = "timeout" if isinstance(exc, BatchTimeout) else "error"
        self.metrics.fallbacks.labels(kind).inc(len(answers))
        results: list[ResultDict] = [
            {
                "request_id": ids[i],
                "prediction": a.prediction,
                "score": a.score,
                "probabilities": None,
                "model_version": model.version,
                "route": route,
                "fallback": True,
                "fallback_reason": a.reason,
                "warnings": [] if warned is None else warned[i],
            }
            for i, a in enumerate(answers)
        ]
        self._log(frame, ids, [r["prediction"] for r in results], [r["score"] for r in results],
                  model.version, route, started, reasons=[a.reason for a in answers],
                  warned=warned)  # fmt: skip
        return results

    def _log(
        self,
        frame: RecordRows,
        ids: list[str],
        predictions: Sequence[Any],
        scores: Sequence[float | None],
        version: int,
        route: Route,
        started: float,
        *,
        reasons: Sequence[str | None] | None = None,
        warned: list[list[str]] | None = None,
    ) -> None:
        """Hand the log writer these answers as columns: no per-row work here."""
        if not self.settings.log_predictions:
            return
        latency_ms = (time.perf_counter() - started) * 1000
        values: Sequence[Sequence[Any]] = frame.values
        if self._log_warnings:
            if warned is None:
                values = [[*row, None] for row in values]
            else:
                values = [
                    [*row, "; ".join(w) if w else None]
                    for row, w in zip(values, warned, strict=True)
                ]
        self.writer.log_piece(
            LogPiece(values, ids, predictions, scores, version, route, latency_ms,
                     time.time(), fallback=reasons is not None, reasons=reasons)
        )  # fmt: skip

    async def _shadow(
        self,
        model: LoadedModel,
        frame: RecordRows,
        ids: list[str],
        warned: list[list[str]] | None = None,
    ) -> None:
        try:
            results = await self._answer(model, frame, "shadow", ids, time.perf_counter(), warned)
        except Exception:  # a failing shadow never affects callers
            return
        self._count_answer("shadow", model.version, len(results))

    def _log_full(self) -> ServiceUnavailable:
        since = self.writer.unreachable_since or time.time()
        self.update_log_gauges()
        return ServiceUnavailable(
            f"Not answering: the metadata store has been unreachable for "
            f"{int(time.time() - since)} s and {self.writer.pending()} answered predictions wait "
            f"in memory to be logged, the most this server holds (log_buffer_rows "
            f"{self._buffer_bound}). An answer now could not be logged.",
            hint="Bring the database back (or point STEADYML_STORE_URL at a reachable one): "
            "the held predictions are written and answers resume at once.",
        )

    async def _log_backpressure(self) -> None:
        """Hold this answer while the log writer catches up, so a load the log cannot keep
        up with slows the service down instead of filling memory (nothing is dropped)."""
        writer, limit = self.writer, self.settings.log_backlog_rows // 2
        self.metrics.log_pending.set(writer.pending())
        deadline = time.monotonic() + 30
        while writer.pending() > limit and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def log_refused(self, records: list[Any], errors: Sequence[Mapping[str, Any]]) -> None:
        """Log the records of a body refused for breaking the contract, with the reasons
        (built in the writer's thread, not here)."""
        if not self.settings.log_predictions:
            return
        now = dt.datetime.now(dt.UTC)
        self.writer.log_later(
            lambda: refused_records(records, errors, now, self._production(), self.refused_log),
            rows=len(records),
        )

    def _production(self) -> int | None:
        prod = self.runtime.state.production
        return None if prod is None else prod.version

    # --- labels and what is served -----------------------------------------------------------

    async def record_labels(self, labels: list[tuple[str, Any]]) -> FeedbackResponse:
        """Store true labels by request id (or row id), through the project's use case."""
        try:
            result = await run_in_threadpool(self.project.record_labels, labels)
        except Exception as exc:
            if not store_unreachable(exc):
                raise
            raise ServiceUnavailable(
                f"The labels were not stored: the metadata store cannot be reached "
                f"({type(exc).__name__}).",
                hint="Send them again when the database is back; nothing of them was kept.",
            ) from exc
        return FeedbackResponse(
            ok=True, stored=result.stored, unknown_request_ids=result.unknown_keys
        )

    def model_info(self) -> dict[str, Any]:
        """The model answering requests, its contract and the traffic policy."""
        st = self.runtime.state
        if st.production is None:
            raise ServiceUnavailable("No model is in production yet.")
        b = st.production.bundle
        return {
            "ok": True,
            "project": self.project.config.project.name,
            "version": st.production.version,
            "model_type": b.model_type,
            "task": b.task,
            "features": b.features,
            "classes": b.classes,
            "threshold": b.threshold,
            "traffic": {**st.policy.to_dict(), "effective_mode": st.mode},
            "challenger": None if st.challenger is None else st.challenger.version,
            "contract": {k: v.describe() for k, v in self.contract.columns.items()},
            "card": "/v1/model/card",
        }

    async def model_card(self) -> str:
        """The production model's card as an HTML page."""
        st = self.runtime.state
        if st.production is None:
            raise ServiceUnavailable("No model is in production yet.")
        return await run_in_threadpool(self.project.model_card, st.production.version, fmt="html")


def settle_garbage_collector(*, collect: bool = True) -> None:
    """Keep Python's full garbage collections short while serving.

    After start-up the process holds millions of long-lived objects (pandas, scikit-learn,
    the model). Every full collection walks them all: measured here, about 1% of requests
    waited ~100 ms for one (p99 106 ms at a p50 of 4 ms). ``gc.freeze()`` moves what exists
    now out of the collector's sight, so later collections only walk request garbage
    (p99 11 ms). At start-up it freezes without collecting first (a full collection costs
    ~0.1 s of cold start; start-up garbage is small); after a model swap it unfreezes and
    collects once, so the old model is freed, then freezes again.
    """
    import gc

    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()
