"""A monitor run's reading and counting: the log of the period a piece at a time
(``LogReader``), and pieces counted into the windows they fall in (``measure``).

The pandas engine counts every piece in this process; the Dask engine
(``steadyml.monitoring.dask_engine``) counts parts of the log on workers with the same
``measure``; ``monitor.run_monitor`` adds the counts up (``Partial``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steadyml.artifacts import ArtifactStore
from steadyml.monitoring.stream import Baseline, Labels, Piece, WindowStats, prepare
from steadyml.monitoring.windows import log_times
from steadyml.predlog.reader import read_log
from steadyml.store import Store

__all__ = ["LogReader", "Measure", "Partial", "measure", "times_ns"]


@dataclass(frozen=True)
class Measure:
    """What counting a part of the log needs: the baseline, the labels, each length's window
    edges (nanoseconds)."""

    baseline: Baseline
    labels: Labels
    bounds: Mapping[str, np.ndarray]


@dataclass
class Partial:
    """What a part of the log added: its rows, its columns, and per length the windows it
    touched (by index) with their counts."""

    rows: int = 0
    columns: set[str] = field(default_factory=set)
    windows: dict[str, dict[int, WindowStats]] = field(default_factory=dict)


def measure(frames: Iterable[pd.DataFrame], how: Measure) -> Partial:
    """Count the frames (pieces of the log with their ``time``) into the windows they fall in."""
    out = Partial(windows={w: {} for w in how.bounds})
    for frame in frames:
        out.rows += len(frame)
        out.columns.update(str(c) for c in frame.columns)
        times = times_ns(frame["time"])
        places = {w: _places(times, bounds) for w, bounds in how.bounds.items()}
        if all(p is None for p in places.values()):
            continue  # before the first window of every length
        piece = prepare(frame, how.baseline, how.labels)
        for w, place in places.items():
            if place is not None:
                _add(out.windows[w], piece, place, how.baseline)
    return out


class LogReader:
    """The log of a run's period, a piece at a time, each piece with its ``time`` column
    (rows outside ``since`` / ``until`` left out); ``columns``: every column seen so far."""

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore | None,
        *,
        since: dt.datetime | None,
        until: dt.datetime | None,
        time_column: str | None,
        model_version: int | None,
        piece_rows: int,
    ) -> None:
        self.store, self.artifacts = store, artifacts
        self.since, self.until, self.time_column = since, until, time_column
        self.model_version, self.piece_rows = model_version, piece_rows
        self.columns: set[str] = set()

    def wanted(self, columns: Sequence[str]) -> list[str]:
        """The columns to read: ``columns`` and the event-time column."""
        return [*columns, *([self.time_column] if self.time_column else [])]

    def read_args(self) -> dict[str, Any]:
        """``read_log`` / ``read_part``'s period and version (event time can be far from the
        logged time: then the whole log is read)."""
        by_logged = self.time_column is None
        return {
            "since": self.since if by_logged else None,
            "until": self.until if by_logged else None,
            "model_version": self.model_version,
            "chunk_rows": self.piece_rows,
        }

    def pieces(self, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        frames = read_log(self.store, self.artifacts, **self.read_args(),
                          columns=self.wanted(columns))  # fmt: skip
        return self.timed(frames, self.columns)

    def timed(self, frames: Iterable[pd.DataFrame], seen: set[str]) -> Iterator[pd.DataFrame]:
        """The frames with their ``time``, only the rows in the period; ``seen`` collects
        every column read."""
        for frame in frames:
            seen.update(str(c) for c in frame.columns)
            if not len(frame):
                continue
            frame = frame.assign(time=log_times(frame, self.time_column))
            keep = np.ones(len(frame), dtype=bool)
            if self.since is not None:
                keep &= (frame["time"] >= pd.Timestamp(self.since)).to_numpy()
            if self.until is not None:
                keep &= (frame["time"] < pd.Timestamp(self.until)).to_numpy()
            if not keep.all():
                frame = frame[keep]
            if len(frame):
                yield frame

    def span(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The first and the latest time in the period (a pass that reads only times)."""
        first: Any = None
        latest: Any = None
        for frame in self.pieces(["at"]):
            low, high = frame["time"].min(), frame["time"].max()
            first = low if first is None else min(first, low)
            latest = high if latest is None else max(latest, high)
        if first is None:
            return None
        return first.to_pydatetime(), latest.to_pydatetime()


def times_ns(times: pd.Series) -> np.ndarray:
    """Times as int64 nanoseconds (UTC)."""
    values = pd.to_datetime(times, utc=True).dt.as_unit("ns")
    out: np.ndarray = values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return out


def _places(times: np.ndarray, bounds: np.ndarray) -> np.ndarray | None:
    """Each row's window (-1: none), or None when no row falls in any window."""
    if len(bounds) < 2:
        return None
    place = np.searchsorted(bounds, times, side="right") - 1
    place[(times < bounds[0]) | (times >= bounds[-1])] = -1
    return None if bool((place < 0).all()) else place


def _add(stats: dict[int, WindowStats], piece: Piece, place: np.ndarray, base: Baseline) -> None:
    """Add a piece's rows to the windows they fall in."""
    first = int(place[0])
    if first >= 0 and bool((place == first).all()):
        stats.setdefault(first, WindowStats(base)).add(piece, None)  # the usual case
        return
    for index in np.unique(place[place >= 0]).tolist():
        stats.setdefault(index, WindowStats(base)).add(piece, place == index)
