"""Text Arrow cannot encode (a lone surrogate) stays in its log chunk, written as an escape."""

from __future__ import annotations

import pyarrow as pa

from steadyml.predlog.chunks import _array


def test_a_lone_surrogate_is_kept_escaped_with_its_neighbours() -> None:
    column = _array(["ok", "bad \ud800", None], pa.string())
    assert column.to_pylist() == ["ok", "bad \\ud800", None]
    mixed = _array([1, "x\udc80"], None)  # no type: the fallback to text
    assert mixed.to_pylist() == ["1", "x\\udc80"]
