"""The data contract: what the training data looked like, written down and enforced.

The first ``steadyml data check`` infers the contract from the training data (types,
nullability, allowed categories, numeric ranges) and saves it as ``contract.yaml`` in the
project, a file people review and edit. Later checks validate data against it with pandera
and report each violation by column and rule, with a few example rows.

The modules, one job each: ``model`` (``Contract``, ``ColumnContract``), ``inference`` (from
training data), ``file`` (``contract.yaml``), ``validation`` (pandera, the report), ``values``
(how values are typed and shown; shared with batch scoring's row checks). pandas, numpy and
pandera are imported where they are used: loading a contract imports none of them.
"""

from steadyml.data.contract.file import load_contract, save_contract
from steadyml.data.contract.inference import infer_contract
from steadyml.data.contract.model import ColumnContract, Contract
from steadyml.data.contract.validation import (
    ContractReport,
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

__all__ = [
    "ColumnContract",
    "Contract",
    "ContractReport",
    "LogicalType",
    "Violation",
    "allowed_check",
    "as_number",
    "format_bound",
    "infer_contract",
    "load_contract",
    "logical_type",
    "save_contract",
    "type_check",
    "validate",
]
