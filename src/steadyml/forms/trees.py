"""A fitted tree ensemble (random forest or histogram gradient boosting) as flat arrays,
scored with numpy alone.

Why numpy and not a runtime: the ensembles steadyml trains are at most a few hundred small
trees over a few dozen columns; the time to answer one row is per-call overhead, not
arithmetic. ONNX Runtime (through skl2onnx) would add two large dependencies and a converter
step, computes in float32 (thresholds and sums, off by ~1e-7, not the 1e-9 serving forms are
held to) and still needs the pipeline's preprocessing replayed around it. Treelite needs a
C compiler at registration and a compiled library per model. Here the trees are four arrays
(feature, threshold, left child, leaf values) and scoring is one descent for every row and
tree at once, bounded by the deepest tree: ~50 numpy calls for a 200-tree model, well under
scikit-learn's own per-call cost, and the same floats as scikit-learn.

What is replayed exactly (``training.compiled`` reads it off the fitted pipeline and checks
it against the pipeline to 1e-9):

* the pipeline's first step (``forms.columns``: missing codes, numbers, labels, errors), on
  a DataFrame or a mapping of column -> values (no DataFrame needed per request);
* the numeric block: median fill, missing-value indicators, then ``(x - mean) / scale`` in
  float64 as ``StandardScaler`` does it (a tree compares the scaled value, so it must be the
  same float); an infinite input is refused, as the imputer refuses it;
* the categories: each label's one-hot row, asked of the fitted encoder (infrequent and
  unseen categories included);
* random forests cast the table to float32 (scikit-learn's trees do) and refuse a value
  that overflows it, as scikit-learn does; gradient boosting compares float64 values with
  its raw thresholds (``num_threshold``), a missing value going where ``missing_go_to_left``
  says (only the one-hot columns reach it: no native categorical splits);
* the output: a forest averages its trees' leaf values (class shares or numbers); boosting
  adds its leaves to the baseline, then applies its link (logistic, softmax or identity).

The nodes of each tree are renumbered so that a node's right child follows its left child;
a leaf points at itself with an infinite threshold, so extra descent steps leave it there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from steadyml.errors import DataError
from steadyml.forms.columns import (
    Rows,
    column_labels,
    column_numbers,
    columns_from_parts,
    columns_to_parts,
    count_rows,
    probabilities,
    refuse_infinite,
    row_label,
    top_class,
)

__all__ = ["CompiledTrees", "Tree", "pack_trees"]

# One fitted tree as scikit-learn holds it: feature, threshold, left, right (-1 at a leaf),
# missing_go_to_left, and the leaf values (n_nodes, k).
Tree = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

_LINKS = ("proba", "logistic", "softmax", "identity")


def pack_trees(trees: Sequence[Tree]) -> dict[str, Any]:
    """The trees as flat arrays: ``feature``, ``threshold``, ``left`` (the right child is
    ``left + 1``; a leaf is its own left child), ``missing_left``, ``value``, ``roots`` and
    ``depth`` (the most steps any row takes)."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    missing_left: list[bool] = []
    values: list[np.ndarray] = []
    roots: list[int] = []
    depth = 0
    for feat, thr, lo, hi, miss, val in trees:
        start = len(feature)
        order, levels = [0], [0]  # old node ids in their new order, and their depths
        i = 0
        while i < len(order):  # breadth first: a node's two children are listed together
            node = order[i]
            if lo[node] >= 0:
                order += [int(lo[node]), int(hi[node])]
                levels += [levels[i] + 1, levels[i] + 1]
            i += 1
        new_id = {old: start + i for i, old in enumerate(order)}
        for old in order:
            leaf = lo[old] < 0
            feature.append(0 if leaf else int(feat[old]))
            threshold.append(np.inf if leaf else float(thr[old]))
            left.append(new_id[old] if leaf else new_id[int(lo[old])])
            missing_left.append(True if leaf else bool(miss[old]))
        values.append(np.where((lo[order] < 0)[:, None], val[order], 0.0))
        roots.append(start)
        depth = max(depth, max(levels))
    return {
        "feature": np.asarray(feature, dtype=np.intp),
        "threshold": np.asarray(threshold, dtype=np.float64),
        "left": np.asarray(left, dtype=np.intp),
        "missing_left": np.asarray(missing_left, dtype=bool),
        "value": np.concatenate(values).astype(np.float64),
        "roots": np.asarray(roots, dtype=np.intp),
        "depth": depth,
    }


class CompiledTrees:
    """``predict_proba`` / ``predict`` of a fitted tree-ensemble pipeline, with numpy."""

    FORM: ClassVar[str] = "trees"

    def __init__(
        self,
        *,
        numeric: Sequence[str],
        categorical: Sequence[str],
        codes: Mapping[str, Sequence[Any]],
        fill: np.ndarray,
        indicator_cols: np.ndarray,
        mean: np.ndarray,
        scale: np.ndarray,
        lookups: Sequence[tuple[dict[str, int], np.ndarray]],
        trees: Mapping[str, Any],
        baseline: np.ndarray,
        combine: str,
        link: str,
        single_precision: bool,
        classes: np.ndarray | None,
    ) -> None:
        if combine not in ("mean", "sum") or link not in _LINKS:
            raise ValueError(f"unknown combine {combine!r} or link {link!r}")
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.codes = dict(codes)
        self.fill = fill  # median per numeric feature
        self.indicator_cols = np.asarray(indicator_cols, dtype=np.intp)
        self.mean = mean  # StandardScaler's mean_ and scale_, over values and indicators
        self.scale = scale
        self.lookups = lookups  # per category column: label -> row, one-hot rows (last: unknown)
        self.feature = np.asarray(trees["feature"], dtype=np.intp)
        self.threshold = np.asarray(trees["threshold"], dtype=np.float64)
        self.left = np.asarray(trees["left"], dtype=np.intp)
        self.missing_left = np.asarray(trees["missing_left"], dtype=bool)
        self.value = np.asarray(trees["value"], dtype=np.float64)  # (n_nodes, k)
        self.roots = np.asarray(trees["roots"], dtype=np.intp)
        self.depth = int(trees["depth"])
        self.baseline = np.asarray(baseline, dtype=np.float64)  # (k,): boosting's start
        self.combine = combine  # "mean" (forest) or "sum" (boosting, from the baseline)
        self.link = link  # "proba" (a forest's class shares), "logistic", "softmax", "identity"
        self.single_precision = single_precision  # scikit-learn's trees compare float32
        self.kind = "regression" if link == "identity" else "classification"
        self.classes_ = classes
        self.n_features = len(self.mean) + sum(rows.shape[1] for _, rows in lookups)
        self._columns = [*self.numeric, *self.categorical]

    # --- the table the trees see -------------------------------------------------------------

    def table(self, X: Rows) -> np.ndarray:
        """The encoded rows as the ensemble receives them (float64; float32 values for a
        forest). ``X``: a DataFrame, or a mapping of column -> one value per row."""
        n = count_rows(X, self._columns)  # a missing column: the pipeline's own message
        blocks: list[np.ndarray] = []
        if self.numeric:
            values = np.empty((n, len(self.numeric)))
            for i, col in enumerate(self.numeric):
                values[:, i] = column_numbers(X[col], col, self.codes.get(col))
            nan = np.isnan(values)
            if np.isinf(values).any():
                refuse_infinite(X, values, self.numeric)
            values[nan] = np.broadcast_to(self.fill, values.shape)[nan]
            scaled = np.hstack([values, nan[:, self.indicator_cols]])  # as SimpleImputer
            with np.errstate(over="ignore"):  # 1e300 / 0.5 is +inf, as in scikit-learn
                scaled -= self.mean  # as StandardScaler, in its order
                scaled /= self.scale
            blocks.append(scaled)
        for col, (index, rows) in zip(self.categorical, self.lookups, strict=True):
            labels = column_labels(X[col], self.codes.get(col))
            unknown = len(rows) - 1
            blocks.append(rows[[index.get(label, unknown) for label in labels]])
        table = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
        if self.single_precision:
            with np.errstate(over="ignore"):  # overflow is refused just below
                narrow = table.astype(np.float32)
            if not np.isfinite(narrow).all():
                _refuse_overflow(X, narrow, self.numeric)
            table = narrow.astype(np.float64)
        return np.ascontiguousarray(table)

    # --- the trees -----------------------------------------------------------------------------

    def leaves(self, table: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree: (n_rows, n_trees) node ids."""
        n = table.shape[0]
        flat = table.ravel()
        node = np.repeat(self.roots[None, :], n, axis=0)
        base = (np.arange(n, dtype=np.intp) * table.shape[1])[:, None]
        missing = bool(np.isnan(flat).any())  # none after imputation; kept exact anyway
        feature, threshold, left = self.feature, self.threshold, self.left
        for _ in range(self.depth):  # take(): numpy's fastest gather
            at = feature.take(node)
            if n > 1:
                at += base
            value = flat.take(at)
            right = value > threshold.take(node)  # a missing value: False, unless ...
            if missing:
                right = np.where(np.isnan(value), ~self.missing_left.take(node), right)
            node = left.take(node) + right
        return node

    def raw(self, X: Rows) -> np.ndarray:
        """The ensemble's raw output: (n_rows, k) averages (forest) or sums (boosting)."""
        table = self.table(X)
        total = self.value.take(self.leaves(table), axis=0).sum(axis=1)
        if self.combine == "mean":
            out: np.ndarray = total / len(self.roots)
        else:
            out = self.baseline + total
        return out

    def predict_proba(self, X: Rows) -> np.ndarray:
        return probabilities(self.raw(X), self.link)

    def predict(self, X: Rows) -> np.ndarray:
        if self.link == "identity":
            values: np.ndarray = self.raw(X)[:, 0]
            return values
        return top_class(self.classes_, self.predict_proba(X))

    # --- the file's content (forms.serving) --------------------------------------------------

    def to_parts(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The JSON header entries and the arrays ``from_parts`` reads back."""
        meta, arrays = columns_to_parts(self)
        meta.update(depth=self.depth, combine=self.combine, link=self.link,
                    single_precision=self.single_precision)  # fmt: skip
        arrays.update(
            mean=self.mean,
            scale=self.scale,
            feature=self.feature.astype(np.int32),
            threshold=self.threshold,
            left=self.left.astype(np.int64),
            missing_left=self.missing_left,
            value=self.value,
            roots=self.roots.astype(np.int64),
            baseline=self.baseline,
        )
        return meta, arrays

    @classmethod
    def from_parts(cls, meta: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> CompiledTrees:
        trees = {k: arrays[k] for k in ("feature", "threshold", "left", "missing_left", "value")}
        return cls(
            **columns_from_parts(meta, arrays),
            mean=arrays["mean"],
            scale=arrays["scale"],
            trees={**trees, "roots": arrays["roots"], "depth": meta["depth"]},
            baseline=arrays["baseline"],
            combine=meta["combine"],
            link=meta["link"],
            single_precision=meta["single_precision"],
        )


def _refuse_overflow(X: Rows, narrow: np.ndarray, names: Sequence[str]) -> None:
    row, col = (int(i[0]) for i in np.nonzero(~np.isfinite(narrow)))
    name = names[col] if col < len(names) else f"feature {col}"
    value = list(X[name])[row] if name in names else None
    raise DataError(
        f"Column '{name}' holds {value!r} in row {row_label(X, row)!r}, too large for this "
        "model: a random forest compares numbers in single precision (about 3.4e38 at most, "
        "after scaling).",
        hint=f"Check that value of '{name}' (its unit, or a code that means missing).",
    )
