"""Findings: the one way the data checks report what they found.

``make_finding`` builds a ``Finding`` (``steadyml.entities``) for one check (``quality``,
``leakage``, ...): the rule, how serious it is, a message naming the column and the values,
why it matters and what to do, plus the plain numbers behind it in ``details``.
"""

from __future__ import annotations

from typing import Any

from steadyml.entities import Finding, Severity

__all__ = ["make_finding"]


def make_finding(
    check: str,
    severity: Severity,
    rule: str,
    message: str,
    column: str | None = None,
    why: str = "",
    fix: str = "",
    **details: Any,
) -> Finding:
    """One finding of ``check``; keyword arguments beyond ``fix`` become its ``details``."""
    return Finding(
        check=check,
        rule=rule,
        severity=severity,
        message=message,
        column=column,
        why=why,
        fix=fix,
        details=details,
    )
