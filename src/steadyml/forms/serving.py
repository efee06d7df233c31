"""``ServingForm``: a model's serving form with what a server needs to answer, and its file.

A form is a compiled scorer (``forms.linear.CompiledLinear`` or ``forms.trees.CompiledTrees``)
plus the model's facts a server reads (the fields of ``registry.ModelBundle``). It is saved
as one ``.npz`` file: a JSON header (the facts, the form's kind under ``form`` and its
``format``) and plain arrays, read back with ``allow_pickle=False``, so loading runs no code.
The registry stores it by digest and verifies the digest on load.

Formats: ``steadyml-linear-1`` (a linear map; what earlier versions wrote and read),
``steadyml-linear-2`` (a linear map with text columns) and ``steadyml-trees-1``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steadyml.errors import SteadyMLError
from steadyml.forms.columns import plain
from steadyml.forms.linear import CompiledLinear
from steadyml.forms.trees import CompiledTrees

__all__ = ["FORMATS", "Compiled", "ServingForm"]

Compiled = CompiledLinear | CompiledTrees
FORMATS: dict[str, type[CompiledLinear] | type[CompiledTrees]] = {
    "steadyml-linear-1": CompiledLinear,
    "steadyml-linear-2": CompiledLinear,
    "steadyml-trees-1": CompiledTrees,
}
_FACTS = ("format", "form", "task", "model_type", "features", "classes", "positive_label",
          "threshold", "packages")  # fmt: skip


@dataclass
class ServingForm:
    """What a server needs to answer with a model, without the pickled pipeline: the compiled
    scorer and the model's facts (the fields of ``registry.ModelBundle`` a server reads)."""

    compiled: Compiled
    task: str
    model_type: str
    features: list[str]
    classes: list[Any] | None
    positive_label: Any
    threshold: float | None
    packages: dict[str, str] = field(default_factory=dict)
    version: int | None = None  # set on load

    def scorer(self) -> Compiled:
        return self.compiled

    def to_bytes(self) -> bytes:
        parts, arrays = self.compiled.to_parts()
        if isinstance(self.compiled, CompiledTrees):
            fmt = "steadyml-trees-1"
        else:
            fmt = "steadyml-linear-2" if "texts" in parts else "steadyml-linear-1"
        clash = sorted(set(parts) & set(_FACTS))
        assert not clash, f"form entries {clash} would hide the model's facts"
        meta = {
            **parts,
            "format": fmt,
            "form": self.compiled.FORM,
            "task": self.task,
            "model_type": self.model_type,
            "features": list(self.features),
            "classes": None if self.classes is None else [plain(v) for v in self.classes],
            "positive_label": plain(self.positive_label),
            "threshold": self.threshold,
            "packages": dict(self.packages),
        }
        arrays = {**arrays, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub mistypes **kwds
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ServingForm:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                meta = json.loads(npz["meta"].tobytes().decode())
                kind = FORMATS.get(meta.get("format"))
                if kind is None:
                    raise ValueError(f"unknown format {meta.get('format')!r}")
                arrays = {name: npz[name] for name in npz.files if name != "meta"}
            compiled = kind.from_parts(meta, arrays)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise SteadyMLError(
                f"This serving form cannot be read ({exc}).",
                hint="It was written by another steadyml version; the server loads the "
                "pickled model instead.",
            ) from exc
        return cls(
            compiled=compiled,
            task=meta["task"],
            model_type=meta["model_type"],
            features=meta["features"],
            classes=meta["classes"],
            positive_label=meta["positive_label"],
            threshold=meta["threshold"],
            packages=meta.get("packages") or {},
        )
