"""Batch scoring: files in chunks, rows checked against the contract, rejects kept with reasons.

``score_file(project, "customers.csv", "scores.parquet")`` is the whole job; see
``steadyml.batch.score`` for what it writes and guarantees.
"""

from steadyml.batch.score import BatchResult, default_rejects_path, score_file

__all__ = ["BatchResult", "default_rejects_path", "score_file"]
