"""A fitted ``TfidfVectorizer`` replayed in plain Python and numpy, bit for bit.

A linear model with a text column scores ``tf-idf(words) @ weights``. scikit-learn's
``TfidfVectorizer.transform`` does, per document: lower-case it, find the tokens with the
token pattern, count the ones in the vocabulary (columns in ascending order), turn the
counts into the vectorizer's dtype (float32 in steadyml), multiply by ``idf_`` in place,
and divide each row by its L2 norm: the squares taken in the dtype, summed one after
the other in double precision, the square root in double, each value divided in double and
rounded back to the dtype. ``TfidfWords`` repeats exactly these operations in the same order,
so its values are the same floats (a value one float32 step off would move a probability
by about 1e-8, more than the 1e-9 serving forms are held to).

Only the settings steadyml uses (and the plain variants of them) are replayed: word
tokens, no custom preprocessor/tokenizer/stop words/accent stripping, single words,
``norm`` L2 or none; ``training.compiled`` leaves any other vectorizer on the pipeline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

__all__ = ["TfidfWords"]


class TfidfWords:
    """One text column's tf-idf values, as CSR parts (``indptr``, ``indices``, ``values``)."""

    def __init__(
        self,
        *,
        vocabulary: dict[str, int],
        idf: np.ndarray | None,
        lowercase: bool,
        token_pattern: str,
        norm: str | None,
        sublinear_tf: bool,
        dtype: str,
    ) -> None:
        if norm not in (None, "l2"):
            raise ValueError(f"norm {norm!r} is not replayed (only 'l2' or None)")
        self.vocabulary = dict(vocabulary)
        self.idf = idf
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.norm = norm
        self.sublinear_tf = sublinear_tf
        self.dtype = np.dtype(dtype)
        self._find = re.compile(token_pattern).findall

    def rows(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``indptr``, ``indices`` (ascending per row) and the values (in the dtype)."""
        vocabulary, find, lower = self.vocabulary, self._find, self.lowercase
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for doc in docs:
            counter: dict[int, int] = {}
            for token in find(doc.lower() if lower else doc):
                j = vocabulary.get(token)
                if j is not None:
                    counter[j] = counter.get(j, 0) + 1
            for j in sorted(counter):
                indices.append(j)
                counts.append(counter[j])
            indptr.append(len(indices))
        cols = np.asarray(indices, dtype=np.int64)
        values = np.asarray(counts, dtype=np.intc).astype(self.dtype)
        if self.sublinear_tf:
            np.log(values, values)
            values += 1.0
        if self.idf is not None:
            values *= self.idf[cols]
        if self.norm == "l2":
            _normalize_l2(values, indptr)
        return np.asarray(indptr, dtype=np.int64), cols, values

    def to_meta(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "lowercase": self.lowercase,
            "token_pattern": self.token_pattern,
            "norm": self.norm,
            "sublinear_tf": self.sublinear_tf,
            "dtype": self.dtype.name,
            "has_idf": self.idf is not None,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any], idf: np.ndarray | None) -> TfidfWords:
        return cls(
            vocabulary=meta["vocabulary"],
            idf=idf if meta["has_idf"] else None,
            lowercase=meta["lowercase"],
            token_pattern=meta["token_pattern"],
            norm=meta["norm"],
            sublinear_tf=meta["sublinear_tf"],
            dtype=meta["dtype"],
        )


def _normalize_l2(values: np.ndarray, indptr: Sequence[int]) -> None:
    """scikit-learn's ``_inplace_csr_row_normalize_l2``, in its order of operations."""
    squares = (values * values).astype(np.float64).tolist()  # squared in the dtype
    for start, stop in pairwise(indptr):
        total = 0.0
        for square in squares[start:stop]:
            total += square  # one after the other, in double precision
        if total == 0.0:
            continue
        norm = math.sqrt(total)
        values[start:stop] = values[start:stop].astype(np.float64) / norm
