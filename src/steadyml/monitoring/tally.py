"""Counts that stand in for a window's values, so a window is measured without holding it.

A monitor run reads the prediction log a piece at a time (``steadyml.monitoring.stream``).
What a window's numbers need of its values is kept as counts, whose size does not grow with
the number of rows:

* ``ValueCounts``: each distinct number and how often it occurs. The drift tests, the
  histograms and the latency percentiles are taken from it exactly as from the values
  themselves (``steadyml.monitoring.drift_stats.ks_counts`` / ``wasserstein_counts``); it holds
  16 bytes per *distinct* value, so a column of codes, counts, prices or repeated scores stays
  small however many rows there are (a column of all-different floats grows with them);
* ``merge_counts``: counts per category label, added up in the order labels first appear;
* ``SmallestLabels``: the first few labels in sorted order, kept as pieces arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["REPEAT_MAX", "SmallestLabels", "ValueCounts", "merge_counts"]

# up to this many values a measure takes the values themselves (np.repeat of the counts), so
# its numbers are the very floats the whole column gives; above it, the counts
REPEAT_MAX = 100_000
_MERGE_AT = 1 << 16


class ValueCounts:
    """Distinct numbers and their counts, added a piece at a time (NaN left out)."""

    def __init__(self) -> None:
        self._values = np.empty(0, dtype=float)
        self._counts = np.empty(0, dtype=np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._held = 0
        self.total = 0

    def add(self, values: np.ndarray) -> None:
        """Count ``values`` (floats; NaN is skipped, infinities count)."""
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        if not len(values):
            return
        distinct, counts = np.unique(values, return_counts=True)
        self._pending.append((distinct, counts.astype(np.int64)))
        self._held += len(distinct)
        self.total += len(values)
        if self._held > max(_MERGE_AT, len(self._values)):
            self._merge()

    def merge(self, other: ValueCounts) -> None:
        """Add the values ``other`` counted."""
        values, counts = other.distinct()
        if len(values):
            self._pending.append((values, counts))
            self._held += len(values)
            self.total += other.total
            if self._held > max(_MERGE_AT, len(self._values)):
                self._merge()

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, counts)``: the distinct values sorted, and how often each occurred."""
        self._merge()
        return self._values, self._counts

    def sorted_values(self) -> np.ndarray:
        """Every value, sorted (only for small totals: see ``REPEAT_MAX``)."""
        values, counts = self.distinct()
        return np.repeat(values, counts)

    def __len__(self) -> int:
        return self.total

    def _merge(self) -> None:
        if not self._pending:
            return
        values = np.concatenate([self._values, *(v for v, _ in self._pending)])
        counts = np.concatenate([self._counts, *(c for _, c in self._pending)])
        self._pending, self._held = [], 0
        order = np.argsort(values, kind="stable")
        values, counts = values[order], counts[order]
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        self._values = values[starts]
        self._counts = np.add.reduceat(counts, starts) if len(starts) else counts


def merge_counts(into: dict[str, int], counts: Mapping[str, int]) -> None:
    """In place: add ``counts`` to ``into`` (new labels go last, in their order)."""
    for label, count in counts.items():
        into[label] = into.get(label, 0) + count


class SmallestLabels:
    """The ``keep`` smallest distinct labels seen so far (``sorted(set(...))[:keep]``)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.labels: list[str] = []

    def add(self, labels: Iterable[str]) -> None:
        self.labels = sorted(set(self.labels).union(labels))[: self.keep]
