"""The data contract: what new data must be (rules) and what training showed (expectations).

The first ``steadyml data check`` infers the contract from the training data and saves it as
``contract.yaml`` in the project, a file people review and edit. It has two levels:

* **rules** refuse a row: the column is present, its value parses as the column's type, and
  the bounds, values or "never missing" the user wrote under a column's ``rules:``;
* **expectations** flag a row but score it: the range and categories seen in training, and
  "was never missing". Inference writes expectations only.

The modules, one job each: ``model`` (``Contract``, ``ColumnContract``, ``ColumnRules``),
``inference`` (from training data), ``file`` (``contract.yaml``), ``validation`` (a whole
table with pandera, the report of ``data check`` and ``train``), ``rows`` (row by row,
vectorised: refusal reasons and warnings, the words batch scoring and the API share),
``values`` (how values are typed and shown). pandas, numpy and pandera are imported where
they are used: loading a contract imports none of them (``rows`` is imported on first use).
"""

from typing import TYPE_CHECKING, Any

from steadyml.data.contract.file import load_contract, save_contract
from steadyml.data.contract.inference import infer_contract
from steadyml.data.contract.model import ColumnContract, ColumnRules, Contract, column_from_dict
from steadyml.data.contract.validation import (
    ContractReport,
    Level,
    Violation,
    allowed_check,
    validate,
)
from steadyml.data.contract.values import (
    LogicalType,
    as_number,
    format_bound,
    logical_type,
    type_check,
)

if TYPE_CHECKING:
    from steadyml.data.contract.rows import (
        OnUnexpected,
        RowCheck,
        check_rows,
        row_refusals,
        row_warnings,
    )

_ROWS = ("OnUnexpected", "RowCheck", "check_rows", "row_refusals", "row_warnings")


def __getattr__(name: str) -> Any:
    """The row checks import pandas and numpy: load them on first use only."""
    if name in _ROWS:
        from steadyml.data.contract import rows

        return getattr(rows, name)
    raise AttributeError(f"module 'steadyml.data.contract' has no attribute {name!r}")


__all__ = [
    "ColumnContract",
    "ColumnRules",
    "Contract",
    "ContractReport",
    "Level",
    "LogicalType",
    "OnUnexpected",
    "RowCheck",
    "Violation",
    "allowed_check",
    "as_number",
    "check_rows",
    "column_from_dict",
    "format_bound",
    "infer_contract",
    "load_contract",
    "logical_type",
    "row_refusals",
    "row_warnings",
    "save_contract",
    "type_check",
    "validate",
]
