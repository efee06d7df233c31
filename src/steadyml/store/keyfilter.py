"""A Bloom filter over strings, built and queried a whole array at a time (numpy).

Prediction files and API log chunks each keep one over their request ids and row keys, so
feedback can tell a key that matches no logged prediction without reading the files (about
1.8 bytes per key; a key never logged is taken for a logged one with a chance of about 1 in
1,000, never the other way round).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

__all__ = ["KeyFilter", "KeyHashes"]

_MAGIC_V1 = b"SMBF1"  # two siphash passes per key
_MAGIC = b"SMBF2"  # one siphash pass per key, its two 32-bit halves as the two hashes
_HEADER = struct.Struct("<5sQB")
_KEY_A = "steadyml-bloom-a"  # 16 bytes each: pandas' siphash keys
_KEY_B = "steadyml-bloom-b"


class KeyFilter:
    """A Bloom filter over strings, built and queried a whole array at a time (numpy).

    Position ``i`` of a key is ``h1 + i * h2`` (mod the filter's size, Kirsch and
    Mitzenmacher's double hashing): ``h1`` and ``h2`` are the two halves of one 64-bit siphash
    of the key. Filters written before that (``SMBF1``) took two siphash passes and are still
    read.
    """

    BITS_PER_KEY = 14.4  # with 10 hashes: about 0.1% false positives
    HASHES = 10

    def __init__(
        self, expected: int, *, bits: Any = None, hashes: int | None = None, split: bool = True
    ) -> None:
        import numpy as np

        m = max(64, int(max(expected, 1) * self.BITS_PER_KEY) // 8 * 8 + 8)
        self.bits = np.zeros(m // 8, dtype=np.uint8) if bits is None else bits
        self.m = len(self.bits) * 8
        self.k = hashes or self.HASHES
        self.split = split

    def _positions(self, keys: Sequence[str] | Any) -> Any:
        hashed = KeyHashes(keys)
        return self._positions_of(hashed, None)

    def _positions_of(self, hashed: KeyHashes, idx: Any) -> Any:
        import numpy as np

        h1, h2 = hashed.pair(split=self.split, idx=idx)
        steps = np.arange(self.k, dtype=np.uint64)[:, None]
        with np.errstate(over="ignore"):
            return (h1[None, :] + steps * h2[None, :]) % np.uint64(self.m)

    def add(self, keys: Sequence[str] | Any) -> None:
        import numpy as np

        if len(keys) == 0:
            return
        pos = self._positions(keys).ravel()
        np.bitwise_or.at(self.bits, (pos >> np.uint64(3)).astype(np.intp),
                         (np.uint8(1) << (pos & np.uint64(7)).astype(np.uint8)))  # fmt: skip

    def contains(self, keys: Sequence[str]) -> list[bool]:
        if not len(keys):
            return []
        return [bool(x) for x in self.contains_hashed(KeyHashes(keys))]

    def contains_hashed(self, hashed: KeyHashes, idx: Any = None) -> Any:
        """Which of the hashed keys (those at ``idx``, or all) the filter may hold, as a
        boolean array: the keys are hashed once for any number of filters."""
        import numpy as np

        pos = self._positions_of(hashed, idx)
        if pos.shape[1] == 0:
            return np.zeros(0, dtype=bool)
        byte = self.bits[(pos >> np.uint64(3)).astype(np.intp)]
        hit = (byte >> (pos & np.uint64(7)).astype(np.uint8)) & np.uint8(1)
        return hit.all(axis=0)

    def to_bytes(self) -> bytes:
        magic = _MAGIC if self.split else _MAGIC_V1
        return _HEADER.pack(magic, self.m, self.k) + self.bits.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyFilter | None:
        """The filter, or None for bytes this version does not understand."""
        import numpy as np

        if len(data) < _HEADER.size:
            return None
        magic, m, k = _HEADER.unpack_from(data)
        if magic not in (_MAGIC, _MAGIC_V1) or m != (len(data) - _HEADER.size) * 8:
            return None
        bits = np.frombuffer(data, dtype=np.uint8, offset=_HEADER.size)
        return cls(0, bits=bits, hashes=k, split=magic == _MAGIC)


class KeyHashes:
    """Keys hashed once (siphash, as the filters do), to be looked up in many filters."""

    def __init__(self, keys: Sequence[str] | Any) -> None:
        import numpy as np
        import pandas as pd

        self._values = np.asarray(keys, dtype=object)
        self._a = pd.util.hash_array(self._values, hash_key=_KEY_A, categorize=False)
        self._b: Any = None

    def __len__(self) -> int:
        return len(self._values)

    def pair(self, *, split: bool, idx: Any = None) -> tuple[Any, Any]:
        """The two hashes of double hashing, for the keys at ``idx`` (or all)."""
        import numpy as np
        import pandas as pd

        a = self._a if idx is None else self._a[idx]
        if split:
            return a & np.uint64(0xFFFFFFFF), (a >> np.uint64(32)) | np.uint64(1)
        if self._b is None:  # filters written before SMBF2
            self._b = pd.util.hash_array(self._values, hash_key=_KEY_B, categorize=False)
        b = self._b if idx is None else self._b[idx]
        return a, b | np.uint64(1)
