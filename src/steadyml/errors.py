"""One exception hierarchy for steadyml.

Domain code raises these; the edges translate them. The CLI prints ``Error: <message>`` and
exits 1; the web layer returns one JSON error shape. Every message should name what failed,
the bad value, what was expected, and the fix.
"""

from __future__ import annotations

__all__ = [
    "SteadyMLError",
    "ConfigError",
    "DataError",
    "DataContractError",
    "StoreError",
    "StoreVersionError",
    "ArtifactNotFound",
    "IntegrityError",
    "MissingExtraError",
    "NotFoundError",
    "AuthError",
]


class SteadyMLError(Exception):
    """Base class of every error steadyml raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None) -> None:
        self.message = message
        self.hint = hint
        # The argument the message is about (``to``, ``reason``, ...), in the library's words:
        # the CLI names its flag (``--to``), the web layer its JSON field.
        self.field = field
        super().__init__(message if hint is None else f"{message}\n{hint}")


class ConfigError(SteadyMLError):
    """The project file (steadyml.yaml) is missing, unreadable or invalid."""

    def __init__(
        self,
        message: str,
        *,
        problems: list[str] | None = None,
        hint: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problems = problems or []
        super().__init__(message, hint=hint, field=field)


class DataError(SteadyMLError):
    """A data file cannot be read, or does not fit the project file."""


class DataContractError(DataError):
    """Data breaks the data contract. ``report`` holds the violations (a ``ContractReport``)."""

    def __init__(
        self,
        message: str,
        *,
        report: object | None = None,
        hint: str | None = None,
        field: str | None = None,
    ) -> None:
        self.report = report
        super().__init__(message, hint=hint, field=field)


class StoreError(SteadyMLError):
    """The metadata store cannot be opened or written."""


class StoreVersionError(StoreError):
    """The metadata store was written by a newer steadyml than this one."""


class NotFoundError(SteadyMLError):
    """A named thing (dataset version, run, model version, ...) does not exist."""


class ArtifactNotFound(NotFoundError):
    """No artifact with the given digest is in the artifact store."""


class IntegrityError(SteadyMLError):
    """Stored bytes do not match the digest recorded for them: refused, never loaded."""


class MissingExtraError(SteadyMLError):
    """An optional dependency is needed; the message names the extra to install."""


class AuthError(SteadyMLError):
    """A request without a valid API key (status 401) or without the needed scope (403)."""

    def __init__(
        self, message: str, *, status: int = 401, hint: str | None = None, field: str | None = None
    ) -> None:
        self.status = status
        super().__init__(message, hint=hint, field=field)


class StateError(SteadyMLError):
    """The action does not fit the thing's current state (e.g. resolving a resolved alert)."""
